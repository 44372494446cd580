//! The samples of `requires-newer-postgres`: statements a real migration set might hold, each
//! with the PostgreSQL major version that first accepts it (`None`: every supported version
//! does; the older spelling next to each new one).

#![allow(dead_code)]

use dbsage_lint::{lint, Finding, LintConfig, SourceFile};

/// What the samples run against: a small shop schema and two roles.
pub const SETUP: &str = "\
create table stock (
  sku text primary key,
  qty int not null default 0,
  price numeric(10, 2),
  attrs jsonb,
  valid_at daterange
);
create table deliveries (sku text primary key, qty int not null);
create table orders (
  id bigint generated always as identity primary key,
  total numeric(10, 2),
  doubled numeric generated always as (total * 2) stored
);
create table events (id bigint not null, at date not null) partition by range (at);
create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
create role app_reader nologin;
create role app_writer nologin;
";

pub const SAMPLES: &[(&str, Option<u32>)] = &[
    // PostgreSQL 15
    ("merge into stock s using deliveries d on s.sku = d.sku\nwhen matched then update set qty = s.qty + d.qty\nwhen not matched then insert (sku, qty) values (d.sku, d.qty);", Some(15)),
    ("create unique index stock_price_key on stock (price) nulls not distinct;", Some(15)),
    ("create view stock_public with (security_invoker = true) as select sku from stock;", Some(15)),
    ("select regexp_count(sku, 'a') from stock;", Some(15)),
    ("insert into stock (sku, qty) select sku, qty from deliveries on conflict (sku) do update set qty = stock.qty + excluded.qty;", None),
    // PostgreSQL 16
    ("select * from (select sku, qty from stock where qty > 0);", Some(16)),
    ("select * from (select sku, qty from stock where qty > 0) as in_stock;", None),
    ("select sku from stock where sku in (select sku from (select sku from deliveries));", Some(16)),
    ("select system_user;", Some(16)),
    ("select session_user;", None),
    ("select price, any_value(sku) from stock group by price;", Some(16)),
    ("select attrs is json object from stock;", Some(16)),
    ("select json_array(sku, qty) from stock;", Some(16)),
    ("select json_build_array(sku, qty) from stock;", None),
    ("select json_object('sku' value sku, 'qty' value qty) from stock;", Some(16)),
    ("select json_object('{a, 1, b, 2}');", None),
    ("select json_arrayagg(sku order by sku) from stock;", Some(16)),
    ("select json_objectagg(sku value qty) from stock;", Some(16)),
    ("grant app_reader to app_writer with inherit false;", Some(16)),
    ("grant app_reader to app_writer with set false;", Some(16)),
    ("grant app_reader to app_writer with admin true;", Some(16)),
    ("grant app_reader to app_writer with admin option;", None),
    ("revoke inherit option for app_reader from app_writer;", Some(16)),
    ("revoke admin option for app_reader from app_writer;", None),
    ("update stock set qty = 0x1F where sku = 'a';", Some(16)),
    ("select 0o17 as octal, 0b101 as binary;", Some(16)),
    ("insert into stock (sku, qty) values ('bulk', 1_000_000);", Some(16)),
    ("insert into stock (sku, qty, price) values ('bulk', 1000000, 12.50);", None),
    ("select random_normal(0, 1);", Some(16)),
    ("copy stock (sku, qty) from '/dev/null' with (format csv, default '\\D');", Some(16)),
    // PostgreSQL 17
    ("merge into stock s using deliveries d on s.sku = d.sku\nwhen matched then update set qty = s.qty + d.qty\nreturning s.sku, s.qty;", Some(17)),
    ("merge into stock s using deliveries d on s.sku = d.sku\nwhen matched then update set qty = d.qty\nwhen not matched by source then delete;", Some(17)),
    ("select jt.* from json_table('[{\"sku\": \"a\"}]'::jsonb, '$[*]' columns (sku text path '$.sku')) as jt;", Some(17)),
    ("select x.* from jsonb_to_recordset('[{\"sku\": \"a\"}]'::jsonb) as x(sku text);", None),
    ("select json_query(attrs, '$.size') from stock;", Some(17)),
    ("select json_value(attrs, '$.color') from stock;", Some(17)),
    ("select sku from stock where json_exists(attrs, '$.color');", Some(17)),
    ("select sku from stock where jsonb_path_exists(attrs, '$.color');", None),
    ("select json('{\"a\": 1}' with unique keys);", Some(17)),
    ("select json('{\"a\": 1}');", None),
    ("select json_scalar(42);", Some(17)),
    ("select json_serialize('{\"a\": 1}' returning text);", Some(17)),
    ("copy stock (sku, qty) from '/dev/null' with (on_error ignore);", Some(17)),
    ("copy stock (sku, qty) from '/dev/null' with (format csv, header true);", None),
    ("alter table orders alter column doubled set expression as (total * 3);", Some(17)),
    ("alter table events add column seq bigint generated always as identity;", Some(17)),
    ("alter table events alter column id add generated always as identity;", None),
    ("create table visits (id bigint generated always as identity, at date not null) partition by range (at);", None),
    ("alter table stock add column seq bigint generated always as identity;", None),
    ("grant maintain on stock to app_reader;", Some(17)),
    ("grant select, update on stock to app_reader;", None),
    ("select random(1, 6);", Some(17)),
    ("select to_bin(10);", Some(17)),
    // PostgreSQL 18
    ("create table boxes (w int, h int, area int generated always as (w * h) virtual);", Some(18)),
    ("create table boxes (w int, h int, area int generated always as (w * h));", Some(18)),
    ("create table boxes (w int, h int, area int generated always as (w * h) stored);", None),
    ("alter table stock add constraint stock_price_not_null not null price not valid;", Some(18)),
    ("alter table stock add constraint stock_price_not_null check (price is not null) not valid;", None),
    ("create table parcels (id int, weight int, constraint parcels_weight_not_null not null weight);", Some(18)),
    ("create table parcels (id int, weight int constraint parcels_weight_not_null not null);", None),
    ("update stock set qty = qty + 1 returning old.qty, new.qty;", Some(18)),
    ("delete from stock where qty = 0 returning old.*;", Some(18)),
    ("update stock set qty = 1 returning with (old as before) before.qty;", Some(18)),
    ("update stock set qty = qty + 1 returning stock.qty;", None),
    ("select uuidv7();", Some(18)),
    ("create table sessions (id uuid primary key default uuidv7());", Some(18)),
    ("create table sessions (id uuid primary key default gen_random_uuid());", None),
    ("create table bookings (room int, during tstzrange, constraint bookings_no_overlap primary key (room, during without overlaps));", Some(18)),
    ("create table bookings (room int, during tstzrange, foreign key (room, period during) references stock (qty, period valid_at));", Some(18)),
    ("alter table stock add constraint stock_qty_positive check (qty >= 0) not enforced;", Some(18)),
    ("alter table stock add constraint stock_qty_positive check (qty >= 0) not valid;", None),
    ("copy stock (sku, qty) from '/dev/null' with (on_error ignore, reject_limit 10);", Some(18)),
    ("select casefold(sku) from stock;", Some(18)),
    ("select lower(sku) from stock;", None),
];

/// The `requires-newer-postgres` findings of `sql`, linted for `target` after [`SETUP`].
pub fn findings_for(target: Option<u32>, sql: &str) -> Vec<Finding> {
    let files = [
        SourceFile {
            path: "migrations/20250101000000_setup.sql".into(),
            text: SETUP.to_string(),
        },
        SourceFile {
            path: "migrations/20250102000000_sample.sql".into(),
            text: sql.to_string(),
        },
    ];
    let config = LintConfig {
        target_major: target,
        threads: 1,
        ..LintConfig::default()
    };
    lint(&files, &config)
        .expect("default config is valid")
        .into_iter()
        .filter(|f| f.rule == "requires-newer-postgres")
        .collect()
}
