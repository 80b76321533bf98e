"""The policy gate's rules: checkov custom checks, the Pulumi policy pack and the rule logic they share."""
