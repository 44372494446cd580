-- Development data, applied after the migrations by `migrate --local` and `dev reset`.
insert into public.authors (email, name) values ('ada@example.com', 'Ada') on conflict (email) do nothing;
insert into public.posts (author_id, title, body, published)
select id, 'Hello', 'First post', true from public.authors where email = 'ada@example.com'
on conflict do nothing;
