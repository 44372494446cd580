drop table if exists public.authors;
