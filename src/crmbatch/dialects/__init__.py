"""Wire dialects: each translates its vendor's format into core calls and core results back.

Nothing here builds SQL or holds a business rule (a test enforces the first). Importing this
package lets each dialect register what the core asks of it (the bodies of its webhooks), so
every process that announces batches (``serve``, ``crmbatch worker``) renders them alike.
"""

from crmbatch.dialects import mainbrainer as mainbrainer
