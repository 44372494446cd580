-- Posts belong to an author; deleting an author deletes their posts.
create table if not exists public.posts (
    id          bigint generated always as identity primary key,
    author_id   bigint not null references public.authors (id) on delete cascade,
    title       text not null,
    body        text not null default '',
    published   boolean not null default false,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
comment on table public.posts is 'Blog posts.';
create index if not exists posts_author_id_idx on public.posts (author_id);

alter table public.posts enable row level security;
drop policy if exists posts_read_published on public.posts;
create policy posts_read_published on public.posts for select using (published);
