drop table if exists public.posts;
