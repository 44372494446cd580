//! The part of a schema a plan can reach: what differs between the two sides, everything that
//! depends on it (PostgreSQL's own `pg_depend`, so whatever a statement could break or cascade
//! to), and everything those need to exist. When the source is a live database the proof
//! rebuilds only this part on the throwaway cluster: thousands of untouched tables cost seconds
//! of DDL and prove nothing, since they are the same on both sides and no statement reaches them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dbsage_catalog::{Catalog, Table};
use postgres::Client;

use crate::Plan;

/// What kind of top-level object: relations (tables, views, sequences) share one name space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Relation,
    /// A function name: every overload.
    Function,
    /// An enum, domain or composite type.
    Type,
}

/// A top-level object: a table stands for its columns, indexes, constraints, triggers, policies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Object {
    pub kind: Kind,
    pub schema: String,
    pub name: String,
}

impl Object {
    fn new(kind: Kind, schema: &str, name: &str) -> Object {
        Object {
            kind,
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }
}

/// One object needing another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub dependent: Object,
    pub needs: Object,
    /// An automatic or internal dependency: the dependent is part of what it needs and goes
    /// with it (an owned or identity sequence, a partition).
    pub part: bool,
}

/// Dependencies between the top-level objects of one database.
#[derive(Debug, Clone, Default)]
pub struct Dependencies(pub Vec<Dependency>);

/// `pg_depend` rows between objects made after initdb (built-in objects exist on every
/// cluster): lifted to top-level objects on the client, which is much cheaper for the server
/// than joining them there (this runs on the live database).
const DEPEND_SQL: &str = "
SELECT classid, objid, refclassid, refobjid, deptype <> 'n' AS part
FROM pg_depend
WHERE objid >= 16384 AND refobjid >= 16384 AND deptype IN ('n', 'a', 'i')";

/// What a part of an object belongs to: an index, constraint, default, rule, trigger or
/// policy to its table (or a domain's constraint to the domain); an array type to its
/// element; a row type to its relation. A foreign key's internal triggers are left out: the
/// constraint already links the two tables, and the triggers on the referenced table would
/// make it depend on every table referring to it.
const OWNERS_SQL: &str = "
SELECT 'pg_class'::regclass::oid, indexrelid, 'pg_class'::regclass::oid, indrelid
    FROM pg_index WHERE indexrelid >= 16384
UNION ALL
SELECT 'pg_type'::regclass::oid, oid,
       CASE WHEN typcategory = 'A' AND typelem <> 0 THEN 'pg_type' ELSE 'pg_class' END::regclass::oid,
       CASE WHEN typcategory = 'A' AND typelem <> 0 THEN typelem ELSE typrelid END
    FROM pg_type WHERE oid >= 16384 AND ((typcategory = 'A' AND typelem <> 0) OR typrelid <> 0)
UNION ALL
SELECT 'pg_constraint'::regclass::oid, oid,
       CASE WHEN conrelid <> 0 THEN 'pg_class' ELSE 'pg_type' END::regclass::oid,
       CASE WHEN conrelid <> 0 THEN conrelid ELSE contypid END
    FROM pg_constraint WHERE oid >= 16384
UNION ALL
SELECT 'pg_attrdef'::regclass::oid, oid, 'pg_class'::regclass::oid, adrelid FROM pg_attrdef
UNION ALL
SELECT 'pg_rewrite'::regclass::oid, oid, 'pg_class'::regclass::oid, ev_class
    FROM pg_rewrite WHERE oid >= 16384
UNION ALL
SELECT 'pg_trigger'::regclass::oid, oid, 'pg_class'::regclass::oid, tgrelid
    FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'pg_policy'::regclass::oid, oid, 'pg_class'::regclass::oid, polrelid FROM pg_policy";

/// Top-level objects: relations (a composite type's relation is the type), functions, and
/// types that are neither arrays nor row types.
const NAMES_SQL: &str = "
SELECT 'pg_class'::regclass::oid, c.oid, CASE WHEN c.relkind = 'c' THEN 't' ELSE 'r' END,
       n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c')
UNION ALL
SELECT 'pg_proc'::regclass::oid, p.oid, 'f', n.nspname, p.proname
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid >= 16384
UNION ALL
SELECT 'pg_type'::regclass::oid, t.oid, 't', n.nspname, t.typname
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.oid >= 16384 AND t.typrelid = 0 AND NOT (t.typcategory = 'A' AND t.typelem <> 0)";

/// A catalog row: (catalog, oid).
type Address = (u32, u32);

impl Dependencies {
    /// Reads the dependencies of the database `client` is connected to (read-only).
    pub fn read(client: &mut Client) -> Result<Dependencies, postgres::Error> {
        let mut names: HashMap<Address, Object> = HashMap::new();
        for row in client.query(NAMES_SQL, &[])? {
            let kind = match row.get::<_, &str>(2) {
                "r" => Kind::Relation,
                "f" => Kind::Function,
                _ => Kind::Type,
            };
            names.insert(
                (row.get(0), row.get(1)),
                Object::new(kind, row.get(3), row.get(4)),
            );
        }
        let owners: HashMap<Address, Address> = client
            .query(OWNERS_SQL, &[])?
            .iter()
            .map(|row| ((row.get(0), row.get(1)), (row.get(2), row.get(3))))
            .collect();
        // An array of a composite type: array → type → relation → named. Three steps at most.
        let top = |mut address: Address| -> Option<&Object> {
            for _ in 0..4 {
                if let Some(object) = names.get(&address) {
                    return Some(object);
                }
                address = *owners.get(&address)?;
            }
            None
        };
        let mut edges: HashMap<(&Object, &Object), bool> = HashMap::new();
        for row in client.query(DEPEND_SQL, &[])? {
            let (Some(dependent), Some(needs)) =
                (top((row.get(0), row.get(1))), top((row.get(2), row.get(3))))
            else {
                continue;
            };
            if dependent != needs {
                *edges.entry((dependent, needs)).or_default() |= row.get::<_, bool>(4);
            }
        }
        let mut dependencies: Vec<Dependency> = edges
            .into_iter()
            .map(|((dependent, needs), part)| Dependency {
                dependent: dependent.clone(),
                needs: needs.clone(),
                part,
            })
            .collect();
        dependencies.sort_by(|a, b| (&a.dependent, &a.needs).cmp(&(&b.dependent, &b.needs)));
        Ok(Dependencies(dependencies))
    }
}

/// The part of the source a scoped proof rebuilds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    /// What differs or the plan names, and everything that depends on it: what the plan's
    /// statements can reach.
    pub reached: BTreeSet<Object>,
    /// `reached` with everything it needs to exist (and their own parts, such as an identity
    /// sequence), and the tables of publications.
    pub objects: BTreeSet<Object>,
    /// How many of the source's top-level objects are in `objects`, and how many it has.
    pub source_objects_kept: usize,
    pub source_objects: usize,
}

/// Both sides' dependencies, as maps.
struct Graph<'a> {
    needs: BTreeMap<&'a Object, Vec<&'a Object>>,
    needed_by: BTreeMap<&'a Object, Vec<&'a Object>>,
    /// Object → its parts.
    parts: BTreeMap<&'a Object, Vec<&'a Object>>,
}

impl<'a> Graph<'a> {
    fn new(dependencies: &[&'a Dependencies]) -> Graph<'a> {
        let mut graph = Graph {
            needs: BTreeMap::new(),
            needed_by: BTreeMap::new(),
            parts: BTreeMap::new(),
        };
        for d in dependencies.iter().flat_map(|d| d.0.iter()) {
            graph.needs.entry(&d.dependent).or_default().push(&d.needs);
            graph
                .needed_by
                .entry(&d.needs)
                .or_default()
                .push(&d.dependent);
            if d.part {
                graph.parts.entry(&d.needs).or_default().push(&d.dependent);
            }
        }
        graph
    }

    /// `start`, everything it needs, their parts, and what those need, and so on.
    fn needed(&self, start: BTreeSet<Object>) -> BTreeSet<Object> {
        closure(start, &[&self.needs, &self.parts])
    }
}

/// Tables every copy needs: those publications name (publications are copied whole).
fn published_tables(from: &Catalog, to: &Catalog) -> BTreeSet<Object> {
    from.publications
        .iter()
        .chain(&to.publications)
        .flat_map(|p| &p.tables)
        .map(|t| Object::new(Kind::Relation, &t.schema, &t.name))
        .collect()
}

/// What a scoped proof rebuilds, or `None` when the whole schema must be: database objects
/// that reach every table (publications of all tables or of a schema, event triggers, casts).
pub fn affected(
    from: &Catalog,
    to: &Catalog,
    dependencies: &[&Dependencies],
    plan: &Plan,
) -> Option<Affected> {
    for side in [from, to] {
        if !side.event_triggers.is_empty()
            || !side.casts.is_empty()
            || side
                .publications
                .iter()
                .any(|p| p.all_tables || !p.schemas.is_empty())
        {
            return None;
        }
    }
    let graph = Graph::new(dependencies);
    let source = items(from);
    let mut changed = differing(&source, &items(to));
    changed.extend(planned_relations(plan));
    let reached = closure(changed, &[&graph.needed_by]);
    let mut seeds = reached.clone();
    seeds.extend(published_tables(from, to));
    let objects = graph.needed(seeds);
    Some(Affected {
        source_objects_kept: source.keys().filter(|o| objects.contains(o)).count(),
        source_objects: source.len(),
        reached,
        objects,
    })
}

impl Affected {
    /// At most half of the source's objects: cheaper to rebuild than the whole, by enough to
    /// pay for reading the dependencies and cutting the plan.
    pub fn is_small(&self) -> bool {
        self.objects.len() * 2 <= self.source_objects
    }
}

/// `start` and everything reachable from it through any of `edges`.
fn closure(
    start: BTreeSet<Object>,
    edges: &[&BTreeMap<&Object, Vec<&Object>>],
) -> BTreeSet<Object> {
    let mut reached = start;
    let mut queue: Vec<Object> = reached.iter().cloned().collect();
    while let Some(object) = queue.pop() {
        for next in edges.iter().filter_map(|e| e.get(&object)).flatten() {
            if reached.insert((*next).clone()) {
                queue.push((*next).clone());
            }
        }
    }
    reached
}

/// Relations the plan names as its statements' objects (a view it recreates because its text
/// mentions a changed table, say), so the copy has them.
fn planned_relations(plan: &Plan) -> BTreeSet<Object> {
    plan.statements
        .iter()
        .filter_map(|statement| object_of_group(&statement.object))
        .filter(|object| object.kind == Kind::Relation)
        .collect()
}

/// A top-level object of a catalog, borrowed.
#[derive(PartialEq)]
enum Item<'a> {
    Table(&'a Table),
    View(&'a dbsage_catalog::View),
    Sequence(&'a dbsage_catalog::Sequence),
    Function(&'a dbsage_catalog::Function),
    Enum(&'a dbsage_catalog::EnumType),
    Domain(&'a dbsage_catalog::Domain),
    Composite(&'a dbsage_catalog::CompositeType),
}

impl Item<'_> {
    /// Equal as schema: a table's row estimate is data.
    fn same_as(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Table(a), Item::Table(b)) if a.estimated_rows != b.estimated_rows => {
                let mut b = (*b).clone();
                b.estimated_rows = a.estimated_rows;
                **a == b
            }
            _ => self == other,
        }
    }
}

/// Every top-level object of the catalog that has a kind here (a function name gathers its
/// overloads).
fn items(catalog: &Catalog) -> BTreeMap<Object, Vec<Item<'_>>> {
    let mut items: BTreeMap<Object, Vec<Item>> = BTreeMap::new();
    let mut add = |kind, schema: &str, name: &str, item| {
        items
            .entry(Object::new(kind, schema, name))
            .or_default()
            .push(item);
    };
    for t in &catalog.tables {
        add(Kind::Relation, &t.schema, &t.name, Item::Table(t));
    }
    for v in &catalog.views {
        add(Kind::Relation, &v.schema, &v.name, Item::View(v));
    }
    for s in &catalog.sequences {
        add(Kind::Relation, &s.schema, &s.name, Item::Sequence(s));
    }
    for f in &catalog.functions {
        add(Kind::Function, &f.schema, &f.name, Item::Function(f));
    }
    for e in &catalog.enums {
        add(Kind::Type, &e.schema, &e.name, Item::Enum(e));
    }
    for d in &catalog.domains {
        add(Kind::Type, &d.schema, &d.name, Item::Domain(d));
    }
    for c in &catalog.composite_types {
        add(Kind::Type, &c.schema, &c.name, Item::Composite(c));
    }
    items
}

/// Objects present on one side only or different on the two.
fn differing(
    before: &BTreeMap<Object, Vec<Item>>,
    after: &BTreeMap<Object, Vec<Item>>,
) -> BTreeSet<Object> {
    let same = |old: &Vec<Item>, new: &Vec<Item>| {
        new.len() == old.len() && new.iter().zip(old).all(|(n, o)| n.same_as(o))
    };
    let mut changed: BTreeSet<Object> = before
        .iter()
        .filter(|(object, old)| !after.get(*object).is_some_and(|new| same(old, new)))
        .map(|(object, _)| object.clone())
        .collect();
    changed.extend(after.keys().filter(|o| !before.contains_key(*o)).cloned());
    changed
}

/// `catalog` with only the tables, views, sequences, functions and types in `scope`; schemas,
/// extensions and database-wide objects whole.
pub fn restrict(catalog: &Catalog, scope: &BTreeSet<Object>) -> Catalog {
    fn kept<T: Clone>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<T> {
        items.iter().filter(|item| keep(item)).cloned().collect()
    }
    let has = |kind, schema: &str, name: &str| scope.contains(&Object::new(kind, schema, name));
    // Every field named: a kind added to the catalog must be decided on here.
    Catalog {
        schemas: catalog.schemas.clone(),
        tables: kept(&catalog.tables, |t| has(Kind::Relation, &t.schema, &t.name)),
        views: kept(&catalog.views, |v| has(Kind::Relation, &v.schema, &v.name)),
        functions: kept(&catalog.functions, |f| {
            has(Kind::Function, &f.schema, &f.name)
        }),
        sequences: kept(&catalog.sequences, |s| {
            has(Kind::Relation, &s.schema, &s.name)
        }),
        enums: kept(&catalog.enums, |e| has(Kind::Type, &e.schema, &e.name)),
        domains: kept(&catalog.domains, |d| has(Kind::Type, &d.schema, &d.name)),
        composite_types: kept(&catalog.composite_types, |c| {
            has(Kind::Type, &c.schema, &c.name)
        }),
        extensions: catalog.extensions.clone(),
        default_privileges: catalog.default_privileges.clone(),
        publications: catalog.publications.clone(),
        event_triggers: catalog.event_triggers.clone(),
        casts: catalog.casts.clone(),
        foreign_servers: catalog.foreign_servers.clone(),
    }
}

/// How many top-level objects `catalog` has (tables, views, sequences, functions, types).
pub fn count(catalog: &Catalog) -> usize {
    items(catalog).len()
}

/// One piece of the affected part, proven on a database of its own, beside the others.
#[derive(Debug, Clone, Default)]
pub struct Piece {
    pub objects: BTreeSet<Object>,
    /// Indexes into [`Plan::statements`], in plan order: the piece's own statements and every
    /// statement on schemas, extensions and other database-wide objects (each piece's database
    /// has them all).
    pub statements: Vec<usize>,
}

/// What a statement's object belongs to.
enum Reach {
    /// A schema, an extension, default privileges, the prelude: every piece has it.
    Everywhere,
    Object(Object),
}

/// The top-level object a [`Catalog::objects`] group key names (`table public.users`), or
/// `None` for the database-wide kinds (schema, extension, publication, ...).
fn object_of_group(key: &str) -> Option<Object> {
    const KINDS: &[(&str, Kind)] = &[
        ("table ", Kind::Relation),
        ("view ", Kind::Relation),
        ("materialized view ", Kind::Relation),
        ("sequence ", Kind::Relation),
        ("function ", Kind::Function),
        ("procedure ", Kind::Function),
        ("aggregate ", Kind::Function),
        ("enum ", Kind::Type),
        ("domain ", Kind::Type),
        ("type ", Kind::Type),
    ];
    KINDS.iter().find_map(|(prefix, kind)| {
        let rest = key.strip_prefix(prefix)?;
        let rest = if *kind == Kind::Function {
            &rest[..rest.find('(')?]
        } else {
            rest
        };
        let (schema, name) = rest.split_once('.')?;
        Some(Object::new(*kind, schema, name))
    })
}

/// The statement's reach, from the owners of both sides' objects; `None` when its object is
/// unknown to both (the plan is then proven in one piece).
fn reach(object: &str, owners: &[BTreeMap<String, String>]) -> Option<Reach> {
    if object.is_empty() {
        return Some(Reach::Everywhere);
    }
    let group = owners.iter().find_map(|o| o.get(object))?;
    Some(match object_of_group(group) {
        Some(object) => Reach::Object(object),
        None => Reach::Everywhere,
    })
}

/// The affected part cut into at most `ways` pieces, balanced by size: what the plan reaches
/// is cut where no dependency (on either side) and no statement joins it; each piece then
/// takes what its part needs (a table many pieces need is in each). One piece when the plan
/// does not cut (a statement whose object is not found, or not reached, say).
pub fn pieces(
    affected: &Affected,
    dependencies: &[&Dependencies],
    plan: &Plan,
    (from, to): (&Catalog, &Catalog),
    ways: usize,
) -> Vec<Piece> {
    let whole = || {
        vec![Piece {
            objects: affected.objects.clone(),
            statements: (0..plan.statements.len()).collect(),
        }]
    };
    if ways < 2 {
        return whole();
    }
    // Connected components of the reached objects (union-find over their indexes).
    let reached: Vec<&Object> = affected.reached.iter().collect();
    let index: BTreeMap<&Object, usize> =
        reached.iter().enumerate().map(|(i, o)| (*o, i)).collect();
    let mut parent: Vec<usize> = (0..reached.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for d in dependencies.iter().flat_map(|d| d.0.iter()) {
        if let (Some(&a), Some(&b)) = (index.get(&d.dependent), index.get(&d.needs)) {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra] = rb;
        }
    }
    // Every statement's object is reached or database-wide: the affected parts suffice.
    let owners = [
        restrict(from, &affected.objects).owners(),
        restrict(to, &affected.objects).owners(),
    ];
    let mut components: BTreeMap<usize, Piece> = BTreeMap::new();
    let mut everywhere = Vec::new();
    for (i, statement) in plan.statements.iter().enumerate() {
        match reach(&statement.object, &owners) {
            Some(Reach::Everywhere) => everywhere.push(i),
            Some(Reach::Object(object)) => match index.get(&object) {
                Some(&o) => {
                    let r = root(&mut parent, o);
                    components.entry(r).or_default().statements.push(i);
                }
                None => return whole(),
            },
            None => return whole(),
        }
    }
    for (i, object) in reached.iter().enumerate() {
        let r = root(&mut parent, i);
        components
            .entry(r)
            .or_default()
            .objects
            .insert((*object).clone());
    }
    // Largest first, each onto the lightest piece so far.
    let weight = |p: &Piece| p.objects.len() + p.statements.len();
    let mut sorted: Vec<Piece> = components.into_values().collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(weight(p)));
    let mut pieces: Vec<Piece> = vec![Piece::default(); ways.min(sorted.len()).max(1)];
    for component in sorted {
        let lightest = (0..pieces.len())
            .min_by_key(|&i| weight(&pieces[i]))
            .expect("at least one piece");
        pieces[lightest].objects.extend(component.objects);
        pieces[lightest].statements.extend(component.statements);
    }
    let graph = Graph::new(dependencies);
    let published = published_tables(from, to);
    for piece in &mut pieces {
        let mut seeds = std::mem::take(&mut piece.objects);
        seeds.extend(published.iter().cloned());
        piece.objects = graph.needed(seeds);
        piece.statements.extend(&everywhere);
        piece.statements.sort_unstable();
    }
    pieces
}
