-- dbsage:no-transaction
-- Built without blocking writes: CREATE INDEX CONCURRENTLY cannot run in a transaction.
create index concurrently if not exists posts_title_lower_idx on public.posts (lower(title));
