"""Microsoft Teams: the same grading conversation, look-ups and reminders as Slack.

``app`` (the Teams SDK v2 App behind /api/messages), ``cards`` (Adaptive Cards), ``notify``
(the proactive ``Notifier``), ``refs`` (conversation references). Importing this package
does not import the Teams SDK; its modules do.
"""

import warnings

# The SDK warns on import about a preview feature (HTML widgets) that gradebot does not use.
warnings.filterwarnings("ignore", message="HtmlWidgetSecurityPolicy is in preview")
