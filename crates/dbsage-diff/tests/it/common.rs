//! What the round-trip tests share: one cluster for the test binary (each case gets its own
//! databases), and a plan proven by applying it on a copy of A and diffing against B.

use std::sync::mpsc;
use std::sync::OnceLock;

use dbsage_catalog::{Catalog, ReadOptions};
use dbsage_cluster::Cluster;
use dbsage_diff::{plan, prove, Plan, PlanOptions};

/// One cluster for the whole binary, with the roles the cases grant to.
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        // The server dies with the thread that started it (PR_SET_PDEATHSIG): start it on a
        // thread that lives as long as the test binary, not on whichever test came first.
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let cluster = Cluster::start().unwrap();
            cluster
                .connect("postgres")
                .unwrap()
                .batch_execute(
                    "CREATE ROLE anon NOLOGIN; CREATE ROLE authenticated NOLOGIN; \
                     CREATE ROLE editor NOLOGIN; CREATE ROLE app_owner NOLOGIN; \
                     CREATE ROLE billing_reader NOLOGIN; CREATE ROLE replicator NOLOGIN;",
                )
                .unwrap();
            sender.send(cluster).unwrap();
            loop {
                std::thread::park();
            }
        });
        receiver.recv().unwrap()
    })
}

pub fn database(name: &str, sql: &str) -> postgres::Client {
    cluster().create_database(name).unwrap();
    let mut client = cluster().connect(name).unwrap();
    client
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{name}: {}", dbsage_pgerror::describe(&e)));
    client
}

pub fn read(client: &mut postgres::Client) -> Catalog {
    Catalog::read(client, &ReadOptions::default()).unwrap()
}

pub fn sql_of(plan: &Plan) -> String {
    format!("{}{}", plan.transactional_sql(), plan.no_transaction_sql())
}

/// A → B, proven; the plan and both catalogs.
pub fn one_way(name: &str, from_sql: &str, to_sql: &str) -> (Plan, Catalog, Catalog) {
    let mut from_db = database(&format!("{name}_from"), from_sql);
    let mut to_db = database(&format!("{name}_to"), to_sql);
    let (from, to) = (read(&mut from_db), read(&mut to_db));
    let plan = plan(&from, &to, &PlanOptions::default());
    let proof = prove(&mut from_db, &plan, &to, &ReadOptions::default()).unwrap();
    assert!(
        proof.is_clean(),
        "{name}: the plan\n{}\nleft: {:#?}\nfailure: {:#?}",
        sql_of(&plan),
        proof.not_handled,
        proof.failure
    );
    (plan, from, to)
}

/// A → B and B → A, both proven and neither empty; the two plans.
pub fn round_trip(name: &str, a: &str, b: &str) -> (Plan, Plan) {
    let (forward, _, _) = one_way(&format!("{name}_ab"), a, b);
    let (backward, _, _) = one_way(&format!("{name}_ba"), b, a);
    assert!(
        !forward.is_empty(),
        "{name}: the schemas differ, the plan is empty"
    );
    assert!(
        !backward.is_empty(),
        "{name}: the schemas differ, the plan back is empty"
    );
    (forward, backward)
}

pub fn statement<'a>(plan: &'a Plan, needle: &str) -> &'a dbsage_diff::Statement {
    plan.statements
        .iter()
        .find(|s| s.sql.contains(needle))
        .unwrap_or_else(|| panic!("no statement with `{needle}` in\n{}", sql_of(plan)))
}

/// Where the first statement containing `needle` is in the plan.
pub fn position(plan: &Plan, needle: &str) -> usize {
    plan.statements
        .iter()
        .position(|s| s.sql.contains(needle))
        .unwrap_or_else(|| panic!("no statement with `{needle}` in\n{}", sql_of(plan)))
}
