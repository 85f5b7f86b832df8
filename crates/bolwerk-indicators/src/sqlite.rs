//! Text inside SQLite databases: browser histories (Chrome's `History`
//! with its `urls` table, Firefox's `places.sqlite`), message stores and
//! the like. Every text value of every ordinary table is searched as text
//! (see [`crate::text`]); a match says the table, row (`rowid`) and column.
//!
//! The database is hostile input. It is opened from memory (a copy the
//! scanner owns, never the file on disk), read-only, in SQLite's defensive
//! mode with untrusted schemas, and only ordinary tables are read (no
//! views, no virtual tables: nothing in the file runs). Bounds:
//! [`MAX_DB_SIZE`], [`MAX_TABLES`], [`MAX_ROWS`] rows in all, [`MAX_VALUE`]
//! bytes of each value, and a progress handler that stops any statement
//! after [`MAX_SECONDS`]. A WAL-mode header is rewritten to rollback mode in
//! the copy, since an in-memory database cannot have a WAL.

use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, MAIN_DB};

use crate::matcher::Evidence;
use crate::set::Indicators;
use crate::text;

/// The largest database read.
pub const MAX_DB_SIZE: usize = 512 << 20;
/// The most tables read per database.
pub const MAX_TABLES: usize = 512;
/// The most rows read per database, across its tables.
pub const MAX_ROWS: u64 = 2_000_000;
/// The most bytes of one value searched.
pub const MAX_VALUE: usize = 1 << 20;
/// The longest time spent in one database.
pub const MAX_SECONDS: u64 = 60;

/// What receives each text value: table, rowid, column, text.
pub type OnText<'a> = dyn FnMut(&str, i64, &str, &[u8]) + 'a;

const MAGIC: &[u8] = b"SQLite format 3\0";

/// Whether `data` is an SQLite database.
pub fn is_sqlite(data: &[u8]) -> bool {
    data.len() >= 100 && data.starts_with(MAGIC)
}

/// Search a database's text values; problems (a corrupt page, a limit)
/// end the search quietly, keeping what was found.
pub(crate) fn scan(ind: &Indicators, data: &[u8], ev: &mut Evidence) {
    let _ = each_text(data, &mut |table, row, column, value| {
        text::scan(ind, value, ev, &|_| {
            format!("table {table}, row {row}, column {column}")
        });
    });
}

/// Call `f(table, rowid, column, text)` for each text value, within the
/// bounds above.
pub fn each_text(data: &[u8], f: &mut OnText<'_>) -> rusqlite::Result<()> {
    if data.len() > MAX_DB_SIZE || !is_sqlite(data) {
        return Ok(());
    }
    let conn = open(data)?;
    let mut rows = 0u64;
    for table in tables(&conn)? {
        if rows >= MAX_ROWS {
            break;
        }
        if let Err(e) = read_table(&conn, &table, &mut rows, f) {
            if is_interrupt(&e) {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn open(data: &[u8]) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    let mut copy = data.to_vec();
    // Bytes 18 and 19: file format write/read versions; 2 means WAL.
    if copy[18] == 2 || copy[19] == 2 {
        copy[18] = 1;
        copy[19] = 1;
    }
    let len = copy.len();
    conn.deserialize_read_exact(MAIN_DB, &copy[..], len, true)?;
    let start = Instant::now();
    let limit = Duration::from_secs(MAX_SECONDS);
    conn.progress_handler(10_000, Some(move || start.elapsed() > limit))?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY rowid",
    )?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    names.take(MAX_TABLES).collect()
}

fn read_table(
    conn: &Connection,
    table: &str,
    rows: &mut u64,
    f: &mut OnText<'_>,
) -> rusqlite::Result<()> {
    let quoted = table.replace('"', "\"\"");
    let mut stmt = conn
        .prepare(&format!("SELECT rowid, * FROM \"{quoted}\""))
        .or_else(|_| conn.prepare(&format!("SELECT NULL, * FROM \"{quoted}\"")))?;
    // Column names from a hostile schema may not be UTF-8, and rusqlite's
    // column_name() panics on those: they are read as values instead.
    let columns = column_names(conn, table, stmt.column_count());
    let mut q = stmt.query([])?;
    let mut ordinal = 0i64;
    while let Some(row) = q.next()? {
        ordinal += 1;
        *rows += 1;
        if *rows > MAX_ROWS {
            break;
        }
        let id = row.get::<_, Option<i64>>(0)?.unwrap_or(ordinal);
        for (i, col) in columns.iter().enumerate().skip(1) {
            if let ValueRef::Text(t) = row.get_ref(i)? {
                f(table, id, col, &t[..t.len().min(MAX_VALUE)]);
            }
        }
    }
    Ok(())
}

fn is_interrupt(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::OperationInterrupted)
}

/// The names of `table`'s columns after the row id, read lossily from
/// `pragma_table_info`; `count` names in all, "?" where none is known.
fn column_names(conn: &Connection, table: &str, count: usize) -> Vec<String> {
    let mut names = vec!["rowid".to_string()];
    if let Ok(mut stmt) = conn.prepare("SELECT name FROM pragma_table_info(?1)") {
        if let Ok(mut rows) = stmt.query([table]) {
            while let Ok(Some(row)) = rows.next() {
                if let Ok(ValueRef::Text(t)) = row.get_ref(0) {
                    names.push(String::from_utf8_lossy(t).into_owned());
                }
            }
        }
    }
    names.resize(count.max(1), "?".to_string());
    names
}
