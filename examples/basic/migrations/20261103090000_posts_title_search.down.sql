-- dbsage:no-transaction
drop index concurrently if exists public.posts_title_lower_idx;
