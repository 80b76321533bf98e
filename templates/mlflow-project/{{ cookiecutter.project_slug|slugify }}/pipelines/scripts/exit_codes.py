"""Process exit codes shared by the scripts and the pipeline templates that interpret them.

The templates branch on these numbers, so they are part of the scripts' contract: change both together.
"""

from typing import Final

SUCCESS: Final = 0
# The Azure resource ended in a failed state (AML job Failed/NotResponding, smoke or health check failed).
FAILED: Final = 1
# argparse's own code for a bad command line; our validators reuse it so one code means "fix the call".
USAGE: Final = 2
# The AML job was canceled (by a user, or by Azure ML when it hit its own `limits.timeout`).
CANCELED: Final = 3
# Blue/green could not restore the previous colour's traffic: a human must look now.
ROLLBACK_FAILED: Final = 4
# The overall wait budget is spent and the AML job is still not finished.
TIMED_OUT: Final = 5
# Still running when this attempt's time budget ran out: the template re-queues another attempt.
# 75 is EX_TEMPFAIL in sysexits.h ("try again later").
STILL_RUNNING: Final = 75
