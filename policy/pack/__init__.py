"""The Pulumi policy pack (`pulumi preview --policy-pack policy/pack`)."""
