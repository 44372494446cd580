//! Shared set-up: a throwaway cluster with the Supabase compatibility layer (roles anon,
//! authenticated, service_role; auth.users; auth.uid()/auth.jwt()).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const ALICE: &str = "11111111-1111-1111-1111-111111111111";
pub const BOB: &str = "22222222-2222-2222-2222-222222222222";

pub fn start() -> (dbsage_cluster::Cluster, postgres::Client) {
    let cluster = dbsage_cluster::Cluster::start().expect("start a throwaway cluster");
    let mut client = cluster.connect("postgres").expect("connect");
    dbsage_supabase::install_compat(&mut client).expect("install the Supabase layer");
    (cluster, client)
}

/// A small multi-user schema: each user owns projects; users read their own, insert only as
/// themselves; `notes` has a leaky policy (everyone signed in reads every note).
pub const APP_SCHEMA: &str = r#"
insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'alice@example.com'),
  ('22222222-2222-2222-2222-222222222222', 'bob@example.com');

create table public.projects (
  id bigint generated always as identity primary key,
  owner uuid not null references auth.users (id),
  title text not null
);
alter table public.projects enable row level security;
create policy "owners read" on public.projects for select to authenticated
  using (owner = (select auth.uid()));
create policy "owners insert" on public.projects for insert to authenticated
  with check (owner = (select auth.uid()));
create policy "owners update" on public.projects for update to authenticated
  using (owner = (select auth.uid())) with check (owner = (select auth.uid()));
grant select, insert, update, delete on public.projects to authenticated;
revoke all on public.projects from anon;
insert into public.projects (owner, title) values
  ('11111111-1111-1111-1111-111111111111', 'alpha'),
  ('11111111-1111-1111-1111-111111111111', 'beta'),
  ('22222222-2222-2222-2222-222222222222', 'gamma');

create table public.notes (
  id bigint generated always as identity primary key,
  author uuid not null references auth.users (id),
  body text not null
);
alter table public.notes enable row level security;
create policy "everyone reads notes" on public.notes for select to authenticated using (true);
insert into public.notes (author, body) values
  ('11111111-1111-1111-1111-111111111111', 'a1'),
  ('22222222-2222-2222-2222-222222222222', 'b1'),
  ('22222222-2222-2222-2222-222222222222', 'b2');
"#;

/// Writes `files` (name, text) into a fresh directory and returns it.
pub fn test_dir(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().to_path_buf();
    (dir, path)
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
