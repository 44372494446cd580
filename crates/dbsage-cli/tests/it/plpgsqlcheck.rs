//! `dbsage migrate --local` runs plpgsql_check on the migrations' PL/pgSQL functions (issue 10).

use crate::common;

use common::{stdout, TestProject};

const ORDERS: &str = "create table if not exists orders (\n\
    id bigint generated always as identity primary key,\n\
    total_cents bigint not null\n\
);\n";

const ORDER_TOTAL_BROKEN: &str =
    "create or replace function order_total(p_id bigint) returns bigint\n\
    language plpgsql stable as $$\n\
    begin\n\
    \x20 return (select nosuchcol from orders where id = p_id);\n\
    end;\n\
    $$;\n";

#[test]
fn a_broken_function_fails_with_its_file_line() {
    let p = TestProject::new();
    p.migration("20260101000000", "orders", ORDERS);
    p.migration("20260102000000", "order_total", ORDER_TOTAL_BROKEN);
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["passed"], false);
    let check = &json["checks"]["plpgsql"];
    assert_eq!(check["status"], "failed", "{json}");
    assert_eq!(check["findings"][0]["line"], 4);
    assert_eq!(check["findings"][0]["sqlstate"], "42703");

    let out = p.run(&["migrate", "--local"]);
    let text = stdout(&out);
    assert!(text.contains("plpgsql check: FAILED"), "{text}");
    assert!(
        text.contains("migrations/20260102000000_order_total.sql:4:3: "),
        "{text}"
    );
    assert!(text.contains("nosuchcol"), "{text}");
}

#[test]
fn a_correct_function_with_a_down_file_passes_every_check() {
    let p = TestProject::new();
    p.migration("20260101000000", "orders", ORDERS);
    p.migration(
        "20260102000000",
        "order_total",
        &ORDER_TOTAL_BROKEN.replace("nosuchcol", "total_cents"),
    );
    // The rollback check compares schemas: the extension must not show up as a difference.
    p.down(
        "20260102000000",
        "order_total",
        "drop function if exists order_total(bigint);\n",
    );
    let (json, code) = p.json(&["migrate", "--local"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["checks"]["plpgsql"]["status"], "passed", "{json}");
    assert_eq!(json["checks"]["rollback"]["status"], "passed", "{json}");
}
