//! Checks that the two backends' migrations stay in step and that the personal-data
//! register names real columns.

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, fs, path::Path};

    use auralix_core::personal_data::PERSONAL_DATA_COLUMNS;

    /// Columns only one backend has, each standing for a feature the other does differently.
    const BACKEND_SPECIFIC: &[(&str, &str)] = &[("chunks", "terms_tsv")];

    fn migrations(backend: &str) -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut files: Vec<(String, String)> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// Column names of `table` as its CREATE TABLE statement declares them.
    fn columns(sql: &str, table: &str) -> BTreeSet<String> {
        let start = sql
            .find(&format!("CREATE TABLE {table} ("))
            .unwrap_or_else(|| panic!("no table {table}"));
        let body = &sql[start..];
        let body = &body[body.find('(').unwrap() + 1..body.find("\n);").unwrap()];
        body.lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("--")
                    && !l.starts_with("PRIMARY KEY")
                    && !l.starts_with("UNIQUE")
            })
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    }

    fn tables(sql: &str) -> BTreeSet<String> {
        sql.match_indices("CREATE TABLE ")
            .map(|(i, _)| sql[i + 13..].split_whitespace().next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn backends_have_the_same_migrations_tables_and_columns() {
        let sqlite = migrations("sqlite");
        let postgres = migrations("postgres");
        let names = |m: &[(String, String)]| m.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&sqlite),
            names(&postgres),
            "one migration per backend, same names"
        );
        for ((name, lite), (_, pg)) in sqlite.iter().zip(&postgres) {
            assert_eq!(tables(lite), tables(pg), "{name}: same tables");
            for table in tables(lite) {
                let mut pg_columns = columns(pg, &table);
                // PostgreSQL's generated full-text column does what SQLite's FTS5 table does.
                pg_columns.retain(|c| !BACKEND_SPECIFIC.contains(&(table.as_str(), c.as_str())));
                assert_eq!(
                    columns(lite, &table),
                    pg_columns,
                    "{name}: columns of {table}"
                );
            }
        }
    }

    #[test]
    fn personal_data_register_names_real_columns() {
        let all: String = migrations("sqlite")
            .into_iter()
            .map(|(_, sql)| sql)
            .collect();
        for column in PERSONAL_DATA_COLUMNS {
            assert!(
                columns(&all, column.table).contains(column.column),
                "{}.{} is registered as personal data but does not exist",
                column.table,
                column.column
            );
        }
    }
}
