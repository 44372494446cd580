-- Authors of the blog.
create table if not exists public.authors (
    id          bigint generated always as identity primary key,
    email       text not null unique,
    name        text not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
comment on table public.authors is 'People who write posts.';

alter table public.authors enable row level security;
drop policy if exists authors_read_all on public.authors;
create policy authors_read_all on public.authors for select using (true);
