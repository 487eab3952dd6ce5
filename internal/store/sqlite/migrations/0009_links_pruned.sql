-- A deleted entity's links serve nothing more: its children were
-- tombstoned with it, and a tombstoned entity is never linked again. A
-- deletion now drops the deleted entity's links, as parent and as child
-- (the index finds it as a child). This drops those that earlier
-- releases kept, before the index is built: a smaller build, and no
-- index upkeep for each row deleted.
DELETE FROM clerk_sync_links
WHERE EXISTS (SELECT 1 FROM clerk_sync_entities AS e WHERE e.kind = clerk_sync_links.kind AND e.id = clerk_sync_links.id AND e.deleted = 1)
   OR EXISTS (SELECT 1 FROM clerk_sync_entities AS e WHERE e.kind = clerk_sync_links.parent_kind AND e.id = clerk_sync_links.parent_id AND e.deleted = 1);

CREATE INDEX clerk_sync_links_child ON clerk_sync_links (kind, id);
