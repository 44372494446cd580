-- Projects: the work an account does. Every member works on every project of their accounts;
-- owners and admins delete them.

create table if not exists public.projects (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null references public.accounts (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  description text,
  created_by uuid not null default auth.uid() references auth.users (id) on delete restrict,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (account_id, name)
);
comment on table public.projects is 'A project owned by an account; visible to all its members.';
comment on column public.projects.created_by is 'The member who created the project.';

-- unique (account_id, name) already indexes account_id first.
create index if not exists projects_created_by_idx on public.projects (created_by);

drop trigger if exists projects_set_updated_at on public.projects;
create trigger projects_set_updated_at
  before update on public.projects
  for each row execute function private.set_updated_at();

alter table public.projects enable row level security;

revoke all on table public.projects from anon;
grant select, insert, update, delete on table public.projects to authenticated;
grant all on table public.projects to service_role;

drop policy if exists "members read projects" on public.projects;
create policy "members read projects" on public.projects
  for select to authenticated
  using (private.is_member(account_id));

drop policy if exists "members create projects as themselves" on public.projects;
create policy "members create projects as themselves" on public.projects
  for insert to authenticated
  with check (
    private.is_member(account_id)
    and created_by = (select auth.uid())
  );

drop policy if exists "members update projects" on public.projects;
create policy "members update projects" on public.projects
  for update to authenticated
  using (private.is_member(account_id))
  with check (private.is_member(account_id));

drop policy if exists "owners and admins delete projects" on public.projects;
create policy "owners and admins delete projects" on public.projects
  for delete to authenticated
  using (private.has_account_role(account_id, array['owner', 'admin']));
