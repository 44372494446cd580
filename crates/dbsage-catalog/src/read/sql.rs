//! SQL fragments shared by the per-kind queries, so that "which objects count" (not a system
//! schema, not excluded by the caller, not part of an extension) is decided in one place.
//!
//! Top-level queries take the caller's excluded schemas as `$1` (`text[]`). Queries for the
//! parts of relations (columns, constraints, ...) take instead the OIDs of the relations that
//! were kept (`$1`, `oid[]`): no second round of joins and filters to plan and run.
//!
//! Comments and similar one-row lookups are scalar subqueries rather than joins: with a dozen
//! catalog tables in a query, planning the joins costs more than running the index lookups.
//! Queries that return a row per part of thousands of relations (columns, indexes,
//! constraints, sequences) join instead ([`comment_join`]): one hash join costs less than
//! thousands of index lookups, each a subplan run per row.

/// A condition true for a namespace (alias `n`) the catalog covers: not a system schema and
/// not excluded by `$1`.
pub(super) const VISIBLE_NAMESPACE: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' \
     AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
     AND n.nspname::text <> ALL($1::text[])";

/// `= ANY(...)` of this array matches the relations that were kept (`$1`, `oid[]`). Through a
/// subquery, the planner does not see thousands of OIDs as constants: estimating them costs
/// milliseconds of planning, and the estimate made it scan whole catalogs (`pg_attribute`)
/// where index lookups cost less.
pub(super) const KEPT_RELATIONS: &str = "ARRAY(SELECT unnest($1::oid[]))";

/// A condition true when the object `oid` of catalog `catalog` (`pg_class`, `pg_proc`, ...)
/// is not a member of an extension: such objects come and go with `CREATE EXTENSION` and are
/// not the project's schema.
pub(super) fn not_extension_member(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass \
         AND dep.objid = {oid} AND dep.deptype = 'e')"
    )
}

/// An expression giving the ACL `acl` as `text[]` of `aclitem`s, parsed by
/// [`super::acl::parse_acl`] (much cheaper than `aclexplode` and aggregation per row).
///
/// With `default_for` (an `acldefault` object kind such as `r` and the owner column) a NULL
/// ACL, meaning "never granted nor revoked", is replaced by the default it stands for, so that
/// "never touched" and "granted back to the default" read the same. Without it a NULL ACL
/// means no grants (columns).
pub(super) fn acl_items(acl: &str, default_for: Option<(&str, &str)>) -> String {
    match default_for {
        Some((kind, owner)) => format!("coalesce({acl}, acldefault('{kind}', {owner}))::text[]"),
        None => format!("coalesce({acl}::text[], '{{}}')"),
    }
}

/// An expression giving the comment on object `oid` of catalog `catalog`, sub-object `subid`
/// (a column number, or 0 for the object itself).
pub(super) fn comment_of(catalog: &str, oid: &str, subid: &str) -> String {
    format!(
        "(SELECT d.description FROM pg_description d WHERE d.objoid = {oid} \
         AND d.classoid = '{catalog}'::regclass AND d.objsubid = {subid})"
    )
}

/// A `LEFT JOIN` of `pg_description` as `alias`, for the comment on object `oid` of catalog
/// `catalog`, sub-object `subid`: the join form of [`comment_of`] (at most one row matches,
/// `pg_description`'s key is the object).
pub(super) fn comment_join(alias: &str, catalog: &str, oid: &str, subid: &str) -> String {
    format!(
        "LEFT JOIN pg_description {alias} ON {alias}.objoid = {oid} \
         AND {alias}.classoid = '{catalog}'::regclass AND {alias}.objsubid = {subid}"
    )
}
