drop index if exists public.posts_title_lower_idx;
