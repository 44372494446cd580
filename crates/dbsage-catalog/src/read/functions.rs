//! Functions, procedures and aggregates, in one query.

use postgres::{Error, GenericClient};

use super::acl::parse_acl;
use super::sql::{acl_items, comment_of, not_extension_member, VISIBLE_NAMESPACE};
use crate::model::{Function, FunctionKind, Volatility};

/// The function `oid` (a `regproc` column) as `schema.name`, for an aggregate's clauses.
macro_rules! routine_name {
    ($oid:literal) => {
        concat!(
            "(SELECT format('%I.%I', fn.nspname, fp.proname) FROM pg_proc fp \
               JOIN pg_namespace fn ON fn.oid = fp.pronamespace WHERE fp.oid = ",
            $oid,
            ")"
        )
    };
}

/// `CREATE OR REPLACE AGGREGATE` for the aggregate `p`, from `pg_aggregate` (PostgreSQL has no
/// `pg_get_functiondef` for aggregates). Clauses at their defaults are left out.
const AGGREGATE_DEFINITION: &str = concat!(
    "(SELECT 'CREATE OR REPLACE AGGREGATE ' || format('%I.%I', n.nspname, p.proname) || '(' \
        || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_arguments(p.oid) END || ') (' \
        || concat_ws(', ', 'SFUNC = ' || ",
    routine_name!("a.aggtransfn"),
    ", 'STYPE = ' || format_type(a.aggtranstype, NULL), \
        CASE WHEN a.aggtransspace <> 0 THEN 'SSPACE = ' || a.aggtransspace END, \
        CASE WHEN a.aggfinalfn::oid <> 0 THEN 'FINALFUNC = ' || ",
    routine_name!("a.aggfinalfn"),
    " END, \
        CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END, \
        CASE WHEN a.aggfinalfn::oid <> 0 THEN 'FINALFUNC_MODIFY = ' || CASE a.aggfinalmodify \
             WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END, \
        CASE WHEN a.aggcombinefn::oid <> 0 THEN 'COMBINEFUNC = ' || ",
    routine_name!("a.aggcombinefn"),
    " END, \
        CASE WHEN a.aggserialfn::oid <> 0 THEN 'SERIALFUNC = ' || ",
    routine_name!("a.aggserialfn"),
    " END, \
        CASE WHEN a.aggdeserialfn::oid <> 0 THEN 'DESERIALFUNC = ' || ",
    routine_name!("a.aggdeserialfn"),
    " END, \
        CASE WHEN a.agginitval IS NOT NULL THEN 'INITCOND = ' || quote_literal(a.agginitval) END, \
        CASE WHEN a.aggmtransfn::oid <> 0 THEN 'MSFUNC = ' || ",
    routine_name!("a.aggmtransfn"),
    " || ', MINVFUNC = ' || ",
    routine_name!("a.aggminvtransfn"),
    " || ', MSTYPE = ' || format_type(a.aggmtranstype, NULL) END, \
        CASE WHEN a.aggmfinalfn::oid <> 0 THEN 'MFINALFUNC = ' || ",
    routine_name!("a.aggmfinalfn"),
    " END, \
        CASE WHEN a.aggminitval IS NOT NULL THEN 'MINITCOND = ' || quote_literal(a.aggminitval) END, \
        CASE WHEN a.aggsortop <> 0 THEN 'SORTOP = ' || (SELECT format('OPERATOR(%I.%s)', opn.nspname, o.oprname) \
             FROM pg_operator o JOIN pg_namespace opn ON opn.oid = o.oprnamespace WHERE o.oid = a.aggsortop) END, \
        CASE p.proparallel WHEN 's' THEN 'PARALLEL = SAFE' WHEN 'r' THEN 'PARALLEL = RESTRICTED' END, \
        CASE WHEN a.aggkind = 'h' THEN 'HYPOTHETICAL' END) || ');' \
     FROM pg_aggregate a WHERE a.aggfnoid = p.oid)"
);

/// Reads every routine that is not part of an extension, sorted by schema, name and argument
/// types.
pub(super) fn read(
    client: &mut impl GenericClient,
    excluded: &[String],
) -> Result<Vec<Function>, Error> {
    let sql = format!(
        "SELECT n.nspname::text AS schema, p.proname::text AS name, p.prokind::text AS kind, \
                pg_get_function_identity_arguments(p.oid) AS arguments, \
                oidvectortypes(p.proargtypes) AS argument_types, \
                CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END AS result, \
                {parameters} AS parameters, p.pronargdefaults, p.proretset, \
                CASE WHEN p.prokind <> 'p' THEN format_type(p.prorettype, NULL) END AS return_type, \
                l.lanname::text AS language, p.provolatile::text AS volatility, \
                p.prosecdef, p.proisstrict, coalesce(p.proconfig, '{{}}') AS config, \
                CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) ELSE {aggregate} END AS definition, \
                pg_get_userbyid(p.proowner)::text AS owner, \
                {grants} AS grants, \
                {comment} AS comment \
         FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace \
         JOIN pg_language l ON l.oid = p.prolang \
         WHERE {VISIBLE_NAMESPACE} AND {not_member}",
        grants = acl_items("p.proacl", Some(("f", "p.proowner"))),
        comment = comment_of("pg_proc", "p.oid", "0"),
        not_member = not_extension_member("pg_proc", "p.oid"),
        parameters = super::parameters::PARAMETERS_SQL,
        aggregate = AGGREGATE_DEFINITION,
    );
    let rows = super::query_excluding(client, &sql, excluded)?;
    let mut functions = rows
        .iter()
        .map(|row| {
            let kind = match row.try_get::<_, &str>("kind")? {
                "p" => FunctionKind::Procedure,
                "a" => FunctionKind::Aggregate,
                "w" => FunctionKind::Window,
                _ => FunctionKind::Function,
            };
            let volatility = match row.try_get::<_, &str>("volatility")? {
                "i" => Volatility::Immutable,
                "s" => Volatility::Stable,
                _ => Volatility::Volatile,
            };
            let grants = parse_acl(&row.try_get::<_, Vec<String>>("grants")?);
            let public_can_execute = grants.iter().any(|g| {
                g.grantee == "public"
                    && g.privileges
                        .iter()
                        .any(|p| p == "EXECUTE" || p.starts_with("EXECUTE "))
            });
            Ok(Function {
                schema: row.try_get("schema")?,
                name: row.try_get("name")?,
                kind,
                arguments: row.try_get("arguments")?,
                argument_types: row.try_get("argument_types")?,
                result: row.try_get("result")?,
                parameters: super::parameters::decode(row)?,
                returns_set: row.try_get("proretset")?,
                return_type: row.try_get("return_type")?,
                language: row.try_get("language")?,
                volatility,
                security_definer: row.try_get("prosecdef")?,
                strict: row.try_get("proisstrict")?,
                config: row.try_get("config")?,
                definition: row.try_get("definition")?,
                owner: row.try_get("owner")?,
                grants,
                public_can_execute,
                comment: row.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    functions.sort_by(|a, b| {
        (&a.schema, &a.name, &a.argument_types).cmp(&(&b.schema, &b.name, &b.argument_types))
    });
    Ok(functions)
}
