import GRDB

/// Append-only migrations: a shipped migration is never edited; changes come as new ones.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE terminal (
                  id TEXT PRIMARY KEY, machine TEXT NOT NULL, currency TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE TABLE terminal_counter (
                  terminal_id TEXT NOT NULL REFERENCES terminal(id), key TEXT NOT NULL, value INTEGER NOT NULL,
                  PRIMARY KEY (terminal_id, key));
                CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE user (
                  id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE TABLE role_permission (role TEXT NOT NULL, permission TEXT NOT NULL, PRIMARY KEY (role, permission));
                CREATE TABLE pos_session (
                  id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL REFERENCES terminal(id), session_seq INTEGER NOT NULL,
                  state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'cancelled')),
                  is_rescue INTEGER NOT NULL DEFAULT 0, business_date TEXT NOT NULL,
                  opened_by TEXT NOT NULL, opened_at TEXT NOT NULL,
                  opening_expected INTEGER NOT NULL, opening_counted INTEGER,
                  closed_by TEXT, closed_at TEXT, expected_cash INTEGER, counted_cash INTEGER, difference INTEGER,
                  cash_left INTEGER, difference_approved_by TEXT, force_closed INTEGER NOT NULL DEFAULT 0, z_no INTEGER,
                  CHECK (state != 'closed' OR (closed_at IS NOT NULL AND z_no IS NOT NULL)),
                  UNIQUE (terminal_id, session_seq), UNIQUE (terminal_id, z_no));
                CREATE UNIQUE INDEX one_active_session ON pos_session(terminal_id) WHERE state = 'open' AND is_rescue = 0;
                CREATE TABLE session_participant (
                  session_id TEXT NOT NULL REFERENCES pos_session(id), user_id TEXT NOT NULL, joined_at TEXT NOT NULL,
                  PRIMARY KEY (session_id, user_id));
                CREATE TABLE cash_movement (
                  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES pos_session(id),
                  type TEXT NOT NULL CHECK (type IN ('in', 'out', 'no_sale')), amount INTEGER NOT NULL CHECK (amount >= 0),
                  reason TEXT, user_id TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE TABLE receipt (
                  id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL REFERENCES terminal(id),
                  session_id TEXT NOT NULL REFERENCES pos_session(id),
                  kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'training')), receipt_no INTEGER NOT NULL,
                  z_period INTEGER NOT NULL, cashier TEXT NOT NULL, created_at TEXT NOT NULL, business_date TEXT NOT NULL,
                  total INTEGER NOT NULL, vat_total INTEGER NOT NULL, discount_total INTEGER NOT NULL,
                  change_given INTEGER NOT NULL, grand_total_sales INTEGER NOT NULL, grand_total_returns INTEGER NOT NULL,
                  refund_of TEXT REFERENCES receipt(id), currency TEXT NOT NULL);
                CREATE UNIQUE INDEX receipt_number ON receipt(terminal_id, receipt_no) WHERE kind != 'training';
                CREATE UNIQUE INDEX training_number ON receipt(terminal_id, receipt_no) WHERE kind = 'training';
                CREATE TABLE receipt_line (
                  receipt_id TEXT NOT NULL REFERENCES receipt(id), line_no INTEGER NOT NULL, name TEXT NOT NULL,
                  quantity_milli INTEGER NOT NULL, unit_price INTEGER NOT NULL, list_price INTEGER NOT NULL,
                  price_override_reason TEXT, discount INTEGER NOT NULL, discount_reason TEXT,
                  amount INTEGER NOT NULL, vat_rate_bp INTEGER NOT NULL, vat_amount INTEGER NOT NULL,
                  refund_of_line INTEGER, PRIMARY KEY (receipt_id, line_no));
                CREATE TABLE payment (
                  receipt_id TEXT NOT NULL REFERENCES receipt(id), seq INTEGER NOT NULL, method TEXT NOT NULL,
                  amount INTEGER NOT NULL, PRIMARY KEY (receipt_id, seq));
                CREATE TABLE copy_print (
                  receipt_id TEXT PRIMARY KEY REFERENCES receipt(id), session_id TEXT NOT NULL, user_id TEXT NOT NULL,
                  created_at TEXT NOT NULL);
                CREATE TABLE z_report (
                  terminal_id TEXT NOT NULL, z_no INTEGER NOT NULL, session_id TEXT NOT NULL UNIQUE,
                  first_receipt_no INTEGER, last_receipt_no INTEGER,
                  grand_total_sales_before INTEGER NOT NULL, grand_total_sales_after INTEGER NOT NULL,
                  grand_total_returns_before INTEGER NOT NULL, grand_total_returns_after INTEGER NOT NULL,
                  report_json TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (terminal_id, z_no));
                CREATE TABLE session_total (
                  session_id TEXT NOT NULL REFERENCES pos_session(id), key TEXT NOT NULL,
                  count INTEGER NOT NULL DEFAULT 0, amount INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (session_id, key));
                CREATE TABLE processed_command (
                  id TEXT PRIMARY KEY, kind TEXT NOT NULL, result_json TEXT NOT NULL, created_at TEXT NOT NULL);
                """)
            // Fiscal facts are append-only: no UPDATE, no DELETE.
            for table in ["receipt", "receipt_line", "payment", "cash_movement", "copy_print", "z_report", "processed_command"] {
                try db.execute(sql: """
                    CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) rows are fiscal records and cannot be changed'); END;
                    CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) rows are fiscal records and cannot be deleted'); END;
                    """)
            }
            try db.execute(sql: """
                CREATE TRIGGER pos_session_closed_is_final BEFORE UPDATE ON pos_session
                WHEN OLD.state IN ('closed', 'cancelled')
                BEGIN SELECT RAISE(ABORT, 'a closed shift cannot be changed'); END;
                CREATE TRIGGER pos_session_no_delete BEFORE DELETE ON pos_session
                BEGIN SELECT RAISE(ABORT, 'shifts cannot be deleted'); END;
                CREATE TRIGGER terminal_counter_never_decreases BEFORE UPDATE ON terminal_counter
                WHEN NEW.value < OLD.value
                BEGIN SELECT RAISE(ABORT, 'terminal counters never go back'); END;
                """)
        }
        migrator.registerMigration("v2-parked-receipts") { db in
            try db.execute(sql: """
                CREATE TABLE parked_receipt (
                  id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL REFERENCES terminal(id), label TEXT,
                  state TEXT NOT NULL CHECK (state IN ('parked', 'paying', 'finalized', 'voided')),
                  visibility TEXT NOT NULL CHECK (visibility IN ('own', 'all', 'role')),
                  owner TEXT NOT NULL, owner_role TEXT NOT NULL, session_id TEXT REFERENCES pos_session(id),
                  origin_session_id TEXT, version INTEGER NOT NULL, content_json TEXT NOT NULL,
                  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, receipt_id TEXT REFERENCES receipt(id));
                CREATE UNIQUE INDEX parked_label ON parked_receipt(terminal_id, label)
                  WHERE state IN ('parked', 'paying') AND label IS NOT NULL;
                CREATE TABLE parked_name_preset (scope TEXT NOT NULL, name TEXT NOT NULL, sort INTEGER NOT NULL,
                  PRIMARY KEY (scope, name));
                INSERT INTO parked_name_preset (scope, name, sort) VALUES ('default', 'Sale 1', 1), ('default', 'Sale 2', 2),
                  ('default', 'Sale 3', 3);
                CREATE TRIGGER parked_final_is_final BEFORE UPDATE ON parked_receipt
                WHEN OLD.state IN ('finalized', 'voided')
                BEGIN SELECT RAISE(ABORT, 'a finalized or voided parked receipt cannot change'); END;
                CREATE TRIGGER parked_no_delete BEFORE DELETE ON parked_receipt
                BEGIN SELECT RAISE(ABORT, 'parked receipts are never deleted'); END;
                CREATE INDEX receipt_session ON receipt(session_id);
                """)
        }
        migrator.registerMigration("v3-rescue-shifts") { db in
            try db.execute(sql: """
                ALTER TABLE pos_session ADD COLUMN rescue_for_session_id TEXT;
                ALTER TABLE receipt ADD COLUMN origin_session_id TEXT;
                CREATE UNIQUE INDEX one_open_rescue ON pos_session(terminal_id) WHERE state = 'open' AND is_rescue = 1;
                """)
        }
        migrator.registerMigration("v4-cash-counts") { db in
            try db.execute(sql: """
                CREATE TABLE cash_count (
                  session_id TEXT NOT NULL REFERENCES pos_session(id), phase TEXT NOT NULL CHECK (phase IN ('open', 'close')),
                  denomination INTEGER NOT NULL CHECK (denomination > 0), quantity INTEGER NOT NULL CHECK (quantity >= 0),
                  PRIMARY KEY (session_id, phase, denomination));
                CREATE TRIGGER cash_count_no_update BEFORE UPDATE ON cash_count
                BEGIN SELECT RAISE(ABORT, 'cash counts are append-only'); END;
                CREATE TRIGGER cash_count_no_delete BEFORE DELETE ON cash_count
                BEGIN SELECT RAISE(ABORT, 'cash counts are append-only'); END;
                """)
        }
        // The full state machine of docs/sessions.md: opening (float not yet counted), open, closing (counting; no sales),
        // closed (Z written), posted (handed to accounting), cancelled. SQLite cannot change a CHECK, so the table is
        // rebuilt (GRDB runs migrations with foreign keys off and checks them afterwards).
        migrator.registerMigration("v5-shift-states") { db in
            try db.execute(sql: """
                CREATE TABLE pos_session_v5 (
                  id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL REFERENCES terminal(id), session_seq INTEGER NOT NULL,
                  state TEXT NOT NULL CHECK (state IN ('opening', 'open', 'closing', 'closed', 'posted', 'cancelled')),
                  is_rescue INTEGER NOT NULL DEFAULT 0, business_date TEXT NOT NULL,
                  opened_by TEXT NOT NULL, opened_at TEXT NOT NULL,
                  opening_expected INTEGER NOT NULL, opening_counted INTEGER,
                  closed_by TEXT, closed_at TEXT, expected_cash INTEGER, counted_cash INTEGER, difference INTEGER,
                  cash_left INTEGER, difference_approved_by TEXT, force_closed INTEGER NOT NULL DEFAULT 0, z_no INTEGER,
                  rescue_for_session_id TEXT, posted_by TEXT, posted_at TEXT, cancelled_by TEXT, cancelled_at TEXT,
                  CHECK (state NOT IN ('closed', 'posted') OR (closed_at IS NOT NULL AND z_no IS NOT NULL)),
                  UNIQUE (terminal_id, session_seq), UNIQUE (terminal_id, z_no));
                INSERT INTO pos_session_v5 (\(Schema.columns)) SELECT \(Schema.columns) FROM pos_session;
                DROP TABLE pos_session;
                ALTER TABLE pos_session_v5 RENAME TO pos_session;
                CREATE UNIQUE INDEX one_active_session ON pos_session(terminal_id)
                  WHERE state IN ('opening', 'open', 'closing') AND is_rescue = 0;
                CREATE UNIQUE INDEX one_open_rescue ON pos_session(terminal_id) WHERE state = 'open' AND is_rescue = 1;
                CREATE TRIGGER pos_session_closed_is_final BEFORE UPDATE ON pos_session
                WHEN OLD.state IN ('posted', 'cancelled')
                  OR (OLD.state = 'closed' AND NOT (NEW.state = 'posted' AND NEW.z_no IS OLD.z_no AND NEW.closed_at IS OLD.closed_at
                      AND NEW.expected_cash IS OLD.expected_cash AND NEW.counted_cash IS OLD.counted_cash
                      AND NEW.difference IS OLD.difference AND NEW.cash_left IS OLD.cash_left AND NEW.closed_by IS OLD.closed_by))
                BEGIN SELECT RAISE(ABORT, 'a closed shift cannot be changed'); END;
                CREATE TRIGGER pos_session_no_delete BEFORE DELETE ON pos_session
                BEGIN SELECT RAISE(ABORT, 'shifts cannot be deleted'); END;
                """)
        }
        // The tables written by every receipt, rebuilt so that a finalization touches as few pages as possible: one
        // durable commit writes each touched page to the WAL, so pages are the cost (Docs/decisions/0008). Tables keyed by
        // their natural key are WITHOUT ROWID (one b-tree instead of table + unique index); refunds get a partial index
        // that sales never touch; the counters are one row per terminal (one read, one write per receipt); the kind CHECK is written with OR because `IN (…)` makes SQLite build a temporary b-tree
        // on every insert. `config_rev` counts changes to settings, users and permissions (bumped by triggers), so
        // the engine can keep them cached between transactions and still see another process's change.
        migrator.registerMigration("v6-lean-receipts") { db in
            try db.execute(sql: """
                CREATE TABLE receipt_v6 (
                  id TEXT NOT NULL PRIMARY KEY, terminal_id TEXT NOT NULL REFERENCES terminal(id),
                  session_id TEXT NOT NULL REFERENCES pos_session(id),
                  kind TEXT NOT NULL CHECK (kind = 'sale' OR kind = 'refund' OR kind = 'training'), receipt_no INTEGER NOT NULL,
                  z_period INTEGER NOT NULL, cashier TEXT NOT NULL, created_at TEXT NOT NULL, business_date TEXT NOT NULL,
                  total INTEGER NOT NULL, vat_total INTEGER NOT NULL, discount_total INTEGER NOT NULL,
                  change_given INTEGER NOT NULL, grand_total_sales INTEGER NOT NULL, grand_total_returns INTEGER NOT NULL,
                  refund_of TEXT REFERENCES receipt(id), currency TEXT NOT NULL, origin_session_id TEXT) WITHOUT ROWID;
                INSERT INTO receipt_v6 SELECT \(receiptColumns) FROM receipt;
                DROP TABLE receipt;
                ALTER TABLE receipt_v6 RENAME TO receipt;
                CREATE UNIQUE INDEX receipt_number ON receipt(terminal_id, receipt_no) WHERE kind != 'training';
                CREATE UNIQUE INDEX training_number ON receipt(terminal_id, receipt_no) WHERE kind = 'training';
                CREATE INDEX receipt_session ON receipt(session_id);
                CREATE INDEX receipt_refund_of ON receipt(refund_of) WHERE refund_of IS NOT NULL;

                CREATE TABLE receipt_line_v6 (
                  receipt_id TEXT NOT NULL REFERENCES receipt(id), line_no INTEGER NOT NULL, name TEXT NOT NULL,
                  quantity_milli INTEGER NOT NULL, unit_price INTEGER NOT NULL, list_price INTEGER NOT NULL,
                  price_override_reason TEXT, discount INTEGER NOT NULL, discount_reason TEXT,
                  amount INTEGER NOT NULL, vat_rate_bp INTEGER NOT NULL, vat_amount INTEGER NOT NULL,
                  refund_of_line INTEGER, PRIMARY KEY (receipt_id, line_no)) WITHOUT ROWID;
                INSERT INTO receipt_line_v6 SELECT * FROM receipt_line;
                DROP TABLE receipt_line;
                ALTER TABLE receipt_line_v6 RENAME TO receipt_line;

                CREATE TABLE payment_v6 (
                  receipt_id TEXT NOT NULL REFERENCES receipt(id), seq INTEGER NOT NULL, method TEXT NOT NULL,
                  amount INTEGER NOT NULL, PRIMARY KEY (receipt_id, seq)) WITHOUT ROWID;
                INSERT INTO payment_v6 SELECT * FROM payment;
                DROP TABLE payment;
                ALTER TABLE payment_v6 RENAME TO payment;

                CREATE TABLE session_total_v6 (
                  session_id TEXT NOT NULL REFERENCES pos_session(id), key TEXT NOT NULL,
                  count INTEGER NOT NULL DEFAULT 0, amount INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (session_id, key)) WITHOUT ROWID;
                INSERT INTO session_total_v6 SELECT * FROM session_total;
                DROP TABLE session_total;
                ALTER TABLE session_total_v6 RENAME TO session_total;

                CREATE TABLE terminal_counters (
                  terminal_id TEXT NOT NULL PRIMARY KEY REFERENCES terminal(id),
                  receipt_no INTEGER NOT NULL DEFAULT 0, training_no INTEGER NOT NULL DEFAULT 0, z_no INTEGER NOT NULL DEFAULT 0,
                  session_seq INTEGER NOT NULL DEFAULT 0, gt_sales INTEGER NOT NULL DEFAULT 0,
                  gt_returns INTEGER NOT NULL DEFAULT 0, config_rev INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                INSERT INTO terminal_counters (terminal_id, receipt_no, training_no, z_no, session_seq, gt_sales, gt_returns)
                SELECT id,
                  COALESCE((SELECT value FROM terminal_counter c WHERE c.terminal_id = t.id AND key = 'receipt_no'), 0),
                  COALESCE((SELECT value FROM terminal_counter c WHERE c.terminal_id = t.id AND key = 'training_no'), 0),
                  COALESCE((SELECT value FROM terminal_counter c WHERE c.terminal_id = t.id AND key = 'z_no'), 0),
                  COALESCE((SELECT value FROM terminal_counter c WHERE c.terminal_id = t.id AND key = 'session_seq'), 0),
                  COALESCE((SELECT value FROM terminal_counter c WHERE c.terminal_id = t.id AND key = 'gt_sales'), 0),
                  COALESCE((SELECT value FROM terminal_counter c WHERE c.terminal_id = t.id AND key = 'gt_returns'), 0)
                FROM terminal t;
                DROP TABLE terminal_counter;
                CREATE TRIGGER terminal_counters_never_decrease BEFORE UPDATE ON terminal_counters
                WHEN NEW.receipt_no < OLD.receipt_no OR NEW.training_no < OLD.training_no OR NEW.z_no < OLD.z_no
                  OR NEW.session_seq < OLD.session_seq OR NEW.gt_sales < OLD.gt_sales OR NEW.gt_returns < OLD.gt_returns
                  OR NEW.config_rev < OLD.config_rev
                BEGIN SELECT RAISE(ABORT, 'terminal counters never go back'); END;
                CREATE TRIGGER terminal_counters_no_delete BEFORE DELETE ON terminal_counters
                BEGIN SELECT RAISE(ABORT, 'terminal counters cannot be deleted'); END;
                """)
            for table in ["receipt", "receipt_line", "payment"] {
                try db.execute(sql: """
                    CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) rows are fiscal records and cannot be changed'); END;
                    CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) rows are fiscal records and cannot be deleted'); END;
                    """)
            }
            for table in ["setting", "user", "role_permission"] {
                for event in ["INSERT", "UPDATE", "DELETE"] {
                    try db.execute(sql: """
                        CREATE TRIGGER \(table)_\(event.lowercased())_bumps_config AFTER \(event) ON \(table)
                        BEGIN UPDATE terminal_counters SET config_rev = config_rev + 1; END;
                        """)
                }
            }
        }
        // The signed, hash-chained journal (Docs/journal-format.md) and the fiscal modules whose keys sign it. The journal's
        // head (last sequence number and hash) sits in the terminal's counter row, which every fact writes anyway.
        migrator.registerMigration("v7-journal") { db in
            try db.execute(sql: """
                CREATE TABLE fiscal_module (
                  serial TEXT NOT NULL PRIMARY KEY, algorithm TEXT NOT NULL, public_key BLOB NOT NULL, registered_at TEXT NOT NULL);
                CREATE TABLE journal (
                  seq INTEGER PRIMARY KEY, terminal_id TEXT NOT NULL, created_at TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
                  module_serial TEXT NOT NULL, signature_counter INTEGER NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL,
                  signature BLOB NOT NULL, body TEXT NOT NULL);
                ALTER TABLE terminal_counters ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE terminal_counters ADD COLUMN journal_head BLOB;
                CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
                BEGIN SELECT RAISE(ABORT, 'journal entries are fiscal records and cannot be changed'); END;
                CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
                BEGIN SELECT RAISE(ABORT, 'journal entries are fiscal records and cannot be deleted'); END;
                CREATE TRIGGER fiscal_module_no_update BEFORE UPDATE ON fiscal_module
                BEGIN SELECT RAISE(ABORT, 'a registered fiscal module cannot be changed'); END;
                CREATE TRIGGER fiscal_module_no_delete BEFORE DELETE ON fiscal_module
                BEGIN SELECT RAISE(ABORT, 'a registered fiscal module cannot be deleted'); END;
                DROP TRIGGER terminal_counters_never_decrease;
                CREATE TRIGGER terminal_counters_never_decrease BEFORE UPDATE ON terminal_counters
                WHEN NEW.receipt_no < OLD.receipt_no OR NEW.training_no < OLD.training_no OR NEW.z_no < OLD.z_no
                  OR NEW.session_seq < OLD.session_seq OR NEW.gt_sales < OLD.gt_sales OR NEW.gt_returns < OLD.gt_returns
                  OR NEW.config_rev < OLD.config_rev OR NEW.journal_seq < OLD.journal_seq
                BEGIN SELECT RAISE(ABORT, 'terminal counters never go back'); END;
                """)
        }
        // A fiscal profile's code per receipt (RKSV signature, Swedish control code), chained per profile by `seq`.
        migrator.registerMigration("v8-receipt-codes") { db in
            try db.execute(sql: """
                CREATE TABLE receipt_code (
                  seq INTEGER PRIMARY KEY, receipt_id TEXT NOT NULL UNIQUE REFERENCES receipt(id), profile TEXT NOT NULL,
                  code TEXT NOT NULL, qr TEXT NOT NULL, lines TEXT NOT NULL, signature_failed INTEGER NOT NULL);
                CREATE INDEX receipt_code_profile ON receipt_code(profile, seq);
                CREATE TRIGGER receipt_code_no_update BEFORE UPDATE ON receipt_code
                BEGIN SELECT RAISE(ABORT, 'receipt codes are fiscal records and cannot be changed'); END;
                CREATE TRIGGER receipt_code_no_delete BEFORE DELETE ON receipt_code
                BEGIN SELECT RAISE(ABORT, 'receipt codes are fiscal records and cannot be deleted'); END;
                """)
        }
        // Lines that are services, not goods (the Swedish X and Z count them apart).
        migrator.registerMigration("v9-line-service") { db in
            try db.execute(sql: "ALTER TABLE receipt_line ADD COLUMN service INTEGER NOT NULL DEFAULT 0")
        }
        // The journal's head follows every insert inside SQLite (one statement fewer per fact than an UPDATE from Swift,
        // and it cannot be forgotten).
        migrator.registerMigration("v10-journal-head-trigger") { db in
            try db.execute(sql: """
                CREATE TRIGGER journal_moves_head AFTER INSERT ON journal
                BEGIN UPDATE terminal_counters SET journal_seq = NEW.seq, journal_head = NEW.hash WHERE terminal_id = NEW.terminal_id; END;
                """)
        }
        // The pro-forma series gets its own counter per terminal (it was a count of the terminal database's pro-forma
        // commands: a full scan per bill, and shared by every terminal whose history the file holds). Each terminal
        // continues after its own bills.
        migrator.registerMigration("v11-proforma-counter") { db in
            try db.execute(sql: """
                ALTER TABLE terminal_counters ADD COLUMN proforma_no INTEGER NOT NULL DEFAULT 0;
                UPDATE terminal_counters SET proforma_no = (
                  SELECT COUNT(*) FROM processed_command
                  WHERE kind = 'proforma' AND json_extract(result_json, '$.terminal') = terminal_counters.terminal_id);
                DROP TRIGGER terminal_counters_never_decrease;
                CREATE TRIGGER terminal_counters_never_decrease BEFORE UPDATE ON terminal_counters
                WHEN NEW.receipt_no < OLD.receipt_no OR NEW.training_no < OLD.training_no OR NEW.z_no < OLD.z_no
                  OR NEW.session_seq < OLD.session_seq OR NEW.gt_sales < OLD.gt_sales OR NEW.gt_returns < OLD.gt_returns
                  OR NEW.config_rev < OLD.config_rev OR NEW.journal_seq < OLD.journal_seq OR NEW.proforma_no < OLD.proforma_no
                BEGIN SELECT RAISE(ABORT, 'terminal counters never go back'); END;
                """)
        }
        // The latest time any fact was recorded at, kept by the head-moving trigger (same row, no extra page), so that a
        // clock that went back is noticed even after facts were stamped with it (decision 0014).
        migrator.registerMigration("v12-latest-fact-time", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                ALTER TABLE terminal_counters ADD COLUMN latest_fact_at TEXT;
                UPDATE terminal_counters SET latest_fact_at = (SELECT MAX(created_at) FROM journal WHERE terminal_id = terminal_counters.terminal_id);
                DROP TRIGGER journal_moves_head;
                CREATE TRIGGER journal_moves_head AFTER INSERT ON journal
                BEGIN UPDATE terminal_counters SET journal_seq = NEW.seq, journal_head = NEW.hash,
                  latest_fact_at = max(coalesce(latest_fact_at, ''), NEW.created_at) WHERE terminal_id = NEW.terminal_id; END;
                """)
        }
        // A cash movement entered by mistake is corrected by a reversal: a new row of the opposite type that names it
        // (rows stay immutable), at most one per movement.
        migrator.registerMigration("v13-cash-reversal", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                ALTER TABLE cash_movement ADD COLUMN reverses TEXT REFERENCES cash_movement(id);
                CREATE UNIQUE INDEX cash_movement_reversal ON cash_movement(reverses) WHERE reverses IS NOT NULL;
                """)
        }
        // A front end that opens a parked receipt to edit it holds a lease: until it expires, another user's edit is
        // refused (decision 0015).
        migrator.registerMigration("v14-parked-lease", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                ALTER TABLE parked_receipt ADD COLUMN lease_holder TEXT;
                ALTER TABLE parked_receipt ADD COLUMN lease_until TEXT;
                """)
        }
        // Trust boundary (decision 0016): every command's id is stored with a digest of what it asked for, so a reused id
        // with other content is refused; and money and counters can only ever be stored as integers. SQLite turns an
        // integer sum that overflows into a REAL, and a REAL in a money column used to make the shift unreadable; the
        // typeof triggers refuse such a write (the transaction rolls back). Triggers, not STRICT tables: these tables are
        // append-only and hold the whole history, and rebuilding them would rewrite every page of a large terminal.
        migrator.registerMigration("v15-request-digests-integer-money", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                ALTER TABLE receipt ADD COLUMN request_digest BLOB;
                ALTER TABLE processed_command ADD COLUMN request_digest BLOB;
                ALTER TABLE parked_receipt ADD COLUMN request_digest BLOB;
                """)
            for (table, required, nullable) in integerColumns {
                var conditions = required.map { "typeof(NEW.\($0)) != 'integer'" }
                conditions += nullable.map { "typeof(NEW.\($0)) NOT IN ('integer', 'null')" }
                let when = conditions.joined(separator: " OR ")
                // An UPDATE fires only when it sets one of these columns: the journal's head, which moves with every
                // entry, is not among them and costs nothing here.
                for event in ["INSERT", "UPDATE OF \((required + nullable).joined(separator: ", "))"] {
                    try db.execute(sql: """
                        CREATE TRIGGER \(table)_integers_\(event.prefix(6).lowercased()) BEFORE \(event) ON \(table) WHEN \(when)
                        BEGIN SELECT RAISE(ABORT, '\(table): money and counters are whole numbers (a sum overflowed?)'); END;
                        """)
                }
            }
        }
        // Each entry signs the state its fact moves the terminal to (`JournalState`): the grand totals after it and a
        // digest of its shift's running totals. Older entries keep no state (NULL) and are verified as they were signed.
        migrator.registerMigration("v16-journal-state", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: "ALTER TABLE journal ADD COLUMN state TEXT")
        }
        // What became of printing a receipt's original and its one copy: claimed (`printing`) before the first byte
        // goes out, then `confirmed`, `sent` (nothing could confirm it) or `failed`. A failed print may be tried again;
        // any other state keeps the right used (decision 0017). Not a fiscal fact: the copy and a late original are
        // journaled by their own entries.
        migrator.registerMigration("v17-print-state", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                CREATE TABLE print_state (
                  receipt_id TEXT NOT NULL REFERENCES receipt(id), form TEXT NOT NULL CHECK (form IN ('original', 'copy')),
                  state TEXT NOT NULL CHECK (state IN ('printing', 'confirmed', 'sent', 'failed')), updated_at TEXT NOT NULL,
                  PRIMARY KEY (receipt_id, form)) WITHOUT ROWID;
                ALTER TABLE copy_print ADD COLUMN fiscal_code_json TEXT;
                """)
        }
        // Fiscal conformance (decision 0018): a receipt code keeps its regime type (start, null, storno) for its headline.
        migrator.registerMigration("v18-fiscal-type", foreignKeyChecks: .immediate) { db in
            // A parked receipt still open at a Z is counted there as an unfinished sale once (`unfinished_in`: that shift).
            try db.execute(sql: """
                ALTER TABLE receipt_code ADD COLUMN fiscal_type TEXT;
                ALTER TABLE parked_receipt ADD COLUMN unfinished_in TEXT;
                CREATE TABLE pending_registration (
                  key TEXT NOT NULL PRIMARY KEY, profile TEXT NOT NULL, payload TEXT NOT NULL, command_json TEXT,
                  created_at TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                """)
        }
        // `kassa serve` (decision 0020): a receipt made through the service has its print claimed as `queued` in the
        // receipt's own transaction; the service's spool then holds its one print job, found again at start.
        migrator.registerMigration("v19-print-queued", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                CREATE TABLE print_state_v19 (
                  receipt_id TEXT NOT NULL REFERENCES receipt(id), form TEXT NOT NULL CHECK (form IN ('original', 'copy')),
                  state TEXT NOT NULL CHECK (state IN ('queued', 'printing', 'confirmed', 'sent', 'failed')), updated_at TEXT NOT NULL,
                  PRIMARY KEY (receipt_id, form)) WITHOUT ROWID;
                INSERT INTO print_state_v19 SELECT receipt_id, form, state, updated_at FROM print_state;
                DROP TABLE print_state;
                ALTER TABLE print_state_v19 RENAME TO print_state;
                CREATE INDEX print_state_queued ON print_state(state) WHERE state = 'queued';
                """)
        }
        // Control-unit serials (decision 0028): each registration gets the next serial of its profile when it is first
        // committed as pending; a re-send uses the same serial, and a serial is never given twice.
        migrator.registerMigration("v20-registration-serial", foreignKeyChecks: .immediate) { db in
            try db.execute(sql: """
                ALTER TABLE pending_registration ADD COLUMN serial INTEGER;
                CREATE TABLE registration_serial (profile TEXT NOT NULL PRIMARY KEY, last INTEGER NOT NULL CHECK (last >= 0)) WITHOUT ROWID;
                """)
        }
        return migrator
    }

    /// The columns that hold money, quantities or counters: (table, NOT NULL columns, nullable columns).
    static let integerColumns: [(String, [String], [String])] = [
        ("receipt", ["receipt_no", "z_period", "total", "vat_total", "discount_total", "change_given", "grand_total_sales",
                     "grand_total_returns"], []),
        ("receipt_line", ["line_no", "quantity_milli", "unit_price", "list_price", "discount", "amount", "vat_rate_bp", "vat_amount"],
         ["refund_of_line"]),
        ("payment", ["seq", "amount"], []),
        ("cash_movement", ["amount"], []),
        ("session_total", ["count", "amount"], []),
        ("cash_count", ["denomination", "quantity"], []),
        ("pos_session", ["session_seq", "opening_expected"],
         ["opening_counted", "expected_cash", "counted_cash", "difference", "cash_left", "z_no"]),
        ("z_report", ["z_no", "grand_total_sales_before", "grand_total_sales_after", "grand_total_returns_before",
                      "grand_total_returns_after"], ["first_receipt_no", "last_receipt_no"]),
        ("terminal_counters", ["receipt_no", "training_no", "z_no", "session_seq", "gt_sales", "gt_returns", "config_rev",
                               "proforma_no"], []),
    ]

    static let receiptColumns = "id, terminal_id, session_id, kind, receipt_no, z_period, cashier, created_at, business_date, total, vat_total, discount_total, change_given, grand_total_sales, grand_total_returns, refund_of, currency, origin_session_id"

    static let columns = "id, terminal_id, session_seq, state, is_rescue, business_date, opened_by, opened_at, opening_expected, opening_counted, closed_by, closed_at, expected_cash, counted_cash, difference, cash_left, difference_approved_by, force_closed, z_no, rescue_for_session_id"
}
