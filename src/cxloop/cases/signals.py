"""Signals of the case life cycle, sent inside the transaction of the change.

Receivers (closing the loop, repeat detection, the emergency procedure) run in the same
transaction, so their work commits or rolls back with the change that caused it.
"""

from django.dispatch import Signal

# case, actor
case_created = Signal()
# case, actor, cycle (the resolution cycle that just ended)
case_resolved = Signal()
# case, actor, reason
case_reopened = Signal()
# case, actor (a case became a major complaint after it was created)
case_became_major = Signal()
