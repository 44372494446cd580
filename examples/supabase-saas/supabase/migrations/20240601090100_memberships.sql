-- Memberships: which users belong to which account, and with what role. Also the helpers every
-- policy uses, and the account policies (which need memberships to exist).

create table if not exists public.memberships (
  account_id uuid not null references public.accounts (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (account_id, user_id)
);
comment on table public.memberships is 'A user''s membership of an account, with the role it grants.';
comment on column public.memberships.role is 'owner: everything; admin: manage members and projects; member: work on projects.';

-- The primary key covers account_id; user_id needs its own index (policies filter on it).
create index if not exists memberships_user_id_idx on public.memberships (user_id);

drop trigger if exists memberships_set_updated_at on public.memberships;
create trigger memberships_set_updated_at
  before update on public.memberships
  for each row execute function private.set_updated_at();

alter table public.memberships enable row level security;

revoke all on table public.memberships from anon;
grant select, insert, update, delete on table public.memberships to authenticated;
grant all on table public.memberships to service_role;

-- Security definer so that policies on memberships can ask about memberships without recursing
-- into their own RLS; an empty search_path so nothing can be shadowed.
create or replace function private.is_member(target_account_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.memberships m
    where m.account_id = target_account_id
      and m.user_id = (select auth.uid())
  );
$$;
comment on function private.is_member(uuid) is 'Whether the current user (auth.uid()) is a member of the account.';

create or replace function private.has_account_role(target_account_id uuid, allowed_roles text[])
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.memberships m
    where m.account_id = target_account_id
      and m.user_id = (select auth.uid())
      and m.role = any (allowed_roles)
  );
$$;
comment on function private.has_account_role(uuid, text[]) is 'Whether the current user holds one of the roles in the account.';

revoke all on function private.is_member(uuid) from public, anon;
revoke all on function private.has_account_role(uuid, text[]) from public, anon;
grant execute on function private.is_member(uuid) to authenticated, service_role;
grant execute on function private.has_account_role(uuid, text[]) to authenticated, service_role;

-- Whoever creates an account owns it. Security definer: the creator has no membership yet, so
-- the memberships insert policy would refuse them.
create or replace function private.add_account_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.memberships (account_id, user_id, role)
  values (new.id, new.created_by, 'owner')
  on conflict (account_id, user_id) do update set role = 'owner';
  return new;
end;
$$;
comment on function private.add_account_owner() is 'Trigger: makes an account''s creator its owner.';
revoke all on function private.add_account_owner() from public, anon, authenticated;

drop trigger if exists accounts_add_owner on public.accounts;
create trigger accounts_add_owner
  after insert on public.accounts
  for each row execute function private.add_account_owner();

-- accounts ---------------------------------------------------------------------------------------
drop policy if exists "members read their accounts" on public.accounts;
create policy "members read their accounts" on public.accounts
  for select to authenticated
  -- created_by: the creator sees the row in INSERT ... RETURNING, before the owner trigger runs.
  using (created_by = (select auth.uid()) or private.is_member(id));

drop policy if exists "users create accounts they own" on public.accounts;
create policy "users create accounts they own" on public.accounts
  for insert to authenticated
  with check (created_by = (select auth.uid()));

drop policy if exists "owners and admins update accounts" on public.accounts;
create policy "owners and admins update accounts" on public.accounts
  for update to authenticated
  using (private.has_account_role(id, array['owner', 'admin']))
  with check (private.has_account_role(id, array['owner', 'admin']));

drop policy if exists "owners delete accounts" on public.accounts;
create policy "owners delete accounts" on public.accounts
  for delete to authenticated
  using (private.has_account_role(id, array['owner']));

-- memberships ------------------------------------------------------------------------------------
drop policy if exists "members read co-members" on public.memberships;
create policy "members read co-members" on public.memberships
  for select to authenticated
  using (private.is_member(account_id));

drop policy if exists "owners and admins add members" on public.memberships;
create policy "owners and admins add members" on public.memberships
  for insert to authenticated
  with check (
    private.has_account_role(account_id, array['owner', 'admin'])
    -- only owners make owners
    and (role <> 'owner' or private.has_account_role(account_id, array['owner']))
  );

drop policy if exists "owners change roles" on public.memberships;
create policy "owners change roles" on public.memberships
  for update to authenticated
  using (private.has_account_role(account_id, array['owner']))
  with check (private.has_account_role(account_id, array['owner']));

drop policy if exists "owners remove members, members leave" on public.memberships;
create policy "owners remove members, members leave" on public.memberships
  for delete to authenticated
  using (
    user_id = (select auth.uid())
    or private.has_account_role(account_id, array['owner'])
  );
