"""The Slack channel: Bolt listeners that render engine prompts as Block Kit."""
