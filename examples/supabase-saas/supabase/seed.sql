-- Local development data: two users, their accounts, memberships and projects.
--   alice (11111111-…) owns Acme; bob (22222222-…) is a member of Acme and owns Bobco.
-- Re-runnable: every insert skips rows that already exist.

insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
                        raw_app_meta_data, raw_user_meta_data)
values
  ('11111111-1111-1111-1111-111111111111', 'authenticated', 'authenticated', 'alice@example.com',
   extensions.crypt('alice-password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"]}', '{"full_name": "Alice Adams"}'),
  ('22222222-2222-2222-2222-222222222222', 'authenticated', 'authenticated', 'bob@example.com',
   extensions.crypt('bob-password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"]}', '{"full_name": "Bob Brown"}')
on conflict (id) do nothing;

-- The owner trigger makes each creator the owner of their account.
insert into public.accounts (id, name, slug, created_by)
values
  ('a0000000-0000-4000-8000-000000000001', 'Acme', 'acme', '11111111-1111-1111-1111-111111111111'),
  ('a0000000-0000-4000-8000-000000000002', 'Bobco', 'bobco', '22222222-2222-2222-2222-222222222222')
on conflict (id) do nothing;

insert into public.memberships (account_id, user_id, role)
values ('a0000000-0000-4000-8000-000000000001', '22222222-2222-2222-2222-222222222222', 'member')
on conflict (account_id, user_id) do nothing;

insert into public.projects (id, account_id, name, description, created_by)
values
  ('b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'Website',
   'Marketing site', '11111111-1111-1111-1111-111111111111'),
  ('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'Mobile app',
   null, '22222222-2222-2222-2222-222222222222'),
  ('b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000002', 'Billing',
   'Invoices and payments', '22222222-2222-2222-2222-222222222222')
on conflict (id) do nothing;
