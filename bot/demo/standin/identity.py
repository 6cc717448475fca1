"""Who the stand-in's workspace and app are."""

BOT_USER, BOT_ID, TEAM_ID, APP_ID = "UBOT", "BBOT", "T0TEAM", "A0APP"
PERMALINK_HOST = "https://standin.slack.example"
# The name fail() takes for POSTs to the upload URLs that files.getUploadURLExternal hands out.
UPLOAD = "upload"
