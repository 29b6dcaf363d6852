"""MainBrainer's contacts batch under /mainbrainer; its completion webhook carries its report."""

from crmbatch.core.contacts import batch as contacts_batch
from crmbatch.core.webhooks import render
from crmbatch.dialects.mainbrainer import translate

render.register(contacts_batch.KIND_CONTACTS, "mainbrainer", translate.webhook_body)
