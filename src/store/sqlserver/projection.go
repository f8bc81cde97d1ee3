package sqlserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Projection is the read database on SQL Server: the projector applies the
// change feed to it (Apply) and the query API reads it (Queries).
type Projection struct {
	db  *sql.DB
	cfg Config
}

var (
	_ store.Projection = (*Projection)(nil)
	_ store.Queries    = (*Projection)(nil)
)

// OpenProjection connects to the projection database named by dsn and,
// unless cfg.SkipMigrations, brings its schema up to date.
func OpenProjection(ctx context.Context, dsn string, cfg Config) (*Projection, error) {
	db, cfg, err := openMigrated(ctx, dsn, projectionSet, cfg)
	if err != nil {
		return nil, err
	}
	return &Projection{db: db, cfg: cfg}, nil
}

// Close closes the connection pool.
func (p *Projection) Close() error { return p.db.Close() }

// Apply applies changes and moves the checkpoint in one transaction, so a
// crash leaves either all of the batch or none of it: the projector restarts
// from the checkpoint and never applies an entry twice. Entries at or below
// the checkpoint are skipped. The checkpoint row is read WITH (UPDLOCK), so
// even two projectors started by mistake would take turns, not interleave.
//
// The batch goes to the server as one JSON document and is applied
// set-based by one batch of T-SQL (applySQL): three round trips (begin, the
// batch, commit) whatever its size, where a statement per row cost three per
// entry.
func (p *Projection) Apply(ctx context.Context, changes []store.Change, feedHead int64) (err error) {
	defer func() { err = classify(err) }()
	doc, err := applyDocument(changes)
	if err != nil {
		return fmt.Errorf("sqlserver: apply: %w", err)
	}
	tx, err := p.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("sqlserver: begin apply: %w", err)
	}
	defer tx.Rollback() // a no-op once committed; undoes the batch otherwise
	if _, err := tx.ExecContext(ctx, applySQL, sql.Named("changes", str(doc)), sql.Named("head", feedHead),
		sql.Named("applied_at", utc(p.cfg.Now()))); err != nil {
		return fmt.Errorf("sqlserver: apply %d changes: %w", len(changes), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlserver: commit apply: %w", err)
	}
	return nil
}

// applyEntry is one feed entry as applySQL reads it (OPENJSON … WITH).
// Positions travel as text, which SQL Server converts to BIGINT exactly;
// times as ISO 8601 without an offset (UTC, 100 ns), which DATETIME2 reads
// whatever the session's date format.
type applyEntry struct {
	Position    string  `json:"p"`
	Change      string  `json:"ct"`
	CommittedAt string  `json:"at"`
	OpID        string  `json:"op"`
	OpKind      string  `json:"ok"`
	OpShipment  string  `json:"os"`
	OpStatus    string  `json:"ost"`
	OpVersion   int64   `json:"ov"`
	ErrorCode   *string `json:"ec"`
	ErrorMsg    *string `json:"em"`
	OpCreatedAt string  `json:"oc"`
	OpUpdatedAt string  `json:"ou"`
	// The shipment: all null when the entry changed none.
	HasShipment bool    `json:"hs"`
	ID          *string `json:"s"`
	Recipient   *string `json:"sr"`
	Destination *string `json:"sd"`
	WeightGrams *int    `json:"sw"`
	Service     *string `json:"ss"`
	Status      *string `json:"sst"`
	Version     *int64  `json:"sv"`
	Deleted     *bool   `json:"sx"`
	CreatedAt   *string `json:"sc"`
	UpdatedAt   *string `json:"su"`
}

// datetime2 formats t for a DATETIME2(7) column: UTC, 100 ns, no offset.
// Go truncates, as the driver does for a time parameter.
func datetime2(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000") }

// applyDocument is the JSON array of changes applySQL reads.
func applyDocument(changes []store.Change) (string, error) {
	entries := make([]applyEntry, len(changes))
	for i := range changes {
		c, o := &changes[i], &changes[i].Operation
		e := applyEntry{
			Position: strconv.FormatInt(c.Position, 10), Change: string(c.Change), CommittedAt: datetime2(c.CommittedAt),
			OpID: o.ID, OpKind: o.Kind, OpShipment: o.ShipmentID, OpStatus: string(o.Status), OpVersion: o.ResourceVersion,
			OpCreatedAt: datetime2(o.CreatedAt), OpUpdatedAt: datetime2(o.LastUpdatedAt),
		}
		if o.Error != nil {
			code, msg := string(o.Error.Code), o.Error.Message
			e.ErrorCode, e.ErrorMsg = &code, &msg
		}
		if s := c.Shipment; s != nil {
			service, status := string(s.Service), string(s.Status)
			created, updated := datetime2(s.CreatedAt), datetime2(s.UpdatedAt)
			e.HasShipment, e.ID, e.Recipient, e.Destination = true, &s.ID, &s.Recipient, &s.Destination
			e.WeightGrams, e.Service, e.Status, e.Version = &s.WeightGrams, &service, &status, &s.Version
			e.Deleted, e.CreatedAt, e.UpdatedAt = &s.Deleted, &created, &updated
		}
		entries[i] = e
	}
	b, err := json.Marshal(entries)
	return string(b), err
}

// applySQL applies a batch set-based: it reads the checkpoint, takes the
// entries past it from @changes into @c, then writes
//
//   - shipments: for each shipment, the last of its entries decides (a
//     cancel deletes the row; anything else updates it, or inserts it);
//   - history: one row per entry that changed a shipment;
//   - operations: for each operation, the last of its entries decides;
//   - the checkpoint: the last entry applied, and the feed head, which
//     never goes back.
//
// That is what applying the entries one by one in position order leaves,
// which is what the projection contract asks. Writing the operation and the
// shipment together is what gives read-your-writes: a reader that sees the
// operation Succeeded sees its shipment version, or a later one. Upserts are
// UPDATE then INSERT of what is missing rather than MERGE: simpler to read,
// and safe because one projector writes. The first error ends the batch
// (TRY … CATCH, THROW) and Apply rolls the transaction back.
//
// The table variables' id columns carry the tables' BIN2 collation, so that
// joins compare ids byte for byte, as everywhere else.
const applySQL = `
BEGIN TRY
    DECLARE @checkpoint BIGINT =
        (SELECT applied_position FROM dbo.projector_state WITH (UPDLOCK) WHERE id = 1);

    DECLARE @c TABLE (
        position       BIGINT        NOT NULL PRIMARY KEY,
        change_type    NVARCHAR(16)  NOT NULL,
        committed_at   DATETIME2(7)  NOT NULL,
        op_id          NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NOT NULL,
        op_kind        NVARCHAR(64)  NOT NULL,
        op_shipment_id NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NOT NULL,
        op_status      NVARCHAR(16)  NOT NULL,
        op_version     BIGINT        NOT NULL,
        error_code     NVARCHAR(64)  NULL,
        error_message  NVARCHAR(MAX) NULL,
        op_created_at  DATETIME2(7)  NOT NULL,
        op_updated_at  DATETIME2(7)  NOT NULL,
        has_shipment   BIT           NOT NULL,
        s_id           NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NULL,
        recipient      NVARCHAR(400) NULL,
        destination    NVARCHAR(1000) NULL,
        weight_grams   INT           NULL,
        service        NVARCHAR(16)  NULL,
        status         NVARCHAR(32)  NULL,
        version        BIGINT        NULL,
        deleted        BIT           NULL,
        created_at     DATETIME2(7)  NULL,
        updated_at     DATETIME2(7)  NULL
    );
    INSERT INTO @c
    SELECT * FROM OPENJSON(@changes) WITH (
        position BIGINT '$.p', change_type NVARCHAR(16) '$.ct', committed_at DATETIME2(7) '$.at',
        op_id NVARCHAR(64) '$.op', op_kind NVARCHAR(64) '$.ok', op_shipment_id NVARCHAR(64) '$.os',
        op_status NVARCHAR(16) '$.ost', op_version BIGINT '$.ov',
        error_code NVARCHAR(64) '$.ec', error_message NVARCHAR(MAX) '$.em',
        op_created_at DATETIME2(7) '$.oc', op_updated_at DATETIME2(7) '$.ou',
        has_shipment BIT '$.hs', s_id NVARCHAR(64) '$.s', recipient NVARCHAR(400) '$.sr',
        destination NVARCHAR(1000) '$.sd', weight_grams INT '$.sw', service NVARCHAR(16) '$.ss',
        status NVARCHAR(32) '$.sst', version BIGINT '$.sv', deleted BIT '$.sx',
        created_at DATETIME2(7) '$.sc', updated_at DATETIME2(7) '$.su'
    ) AS j
    WHERE j.position > @checkpoint;

    -- The last entry of each shipment.
    DECLARE @s TABLE (
        id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
        recipient NVARCHAR(400) NOT NULL, destination NVARCHAR(1000) NOT NULL, weight_grams INT NOT NULL,
        service NVARCHAR(16) NOT NULL, status NVARCHAR(32) NOT NULL, version BIGINT NOT NULL,
        deleted BIT NOT NULL, created_at DATETIME2(7) NOT NULL, updated_at DATETIME2(7) NOT NULL
    );
    INSERT INTO @s
    SELECT s_id, recipient, destination, weight_grams, service, status, version, deleted, created_at, updated_at
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY s_id ORDER BY position DESC) AS nth
          FROM @c WHERE has_shipment = 1) AS x
    WHERE x.nth = 1;

    DELETE sh FROM dbo.shipments AS sh JOIN @s AS s ON s.id = sh.id WHERE s.deleted = 1;
    UPDATE sh
    SET recipient = s.recipient, destination = s.destination, weight_grams = s.weight_grams,
        service = s.service, status = s.status, version = s.version,
        created_at = s.created_at, updated_at = s.updated_at
    FROM dbo.shipments AS sh JOIN @s AS s ON s.id = sh.id
    WHERE s.deleted = 0;
    INSERT INTO dbo.shipments (` + shipmentColumns + `)
    SELECT s.id, s.recipient, s.destination, s.weight_grams, s.service, s.status, s.version, s.created_at, s.updated_at
    FROM @s AS s
    WHERE s.deleted = 0 AND NOT EXISTS (SELECT 1 FROM dbo.shipments AS sh WHERE sh.id = s.id);

    INSERT INTO dbo.history (shipment_id, version, change_type, status, at, operation_id)
    SELECT s_id, version, change_type, status, updated_at, op_id FROM @c WHERE has_shipment = 1;

    -- The last entry of each operation.
    DECLARE @o TABLE (
        id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
        kind NVARCHAR(64) NOT NULL, shipment_id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        status NVARCHAR(16) NOT NULL, resource_version BIGINT NOT NULL, error_code NVARCHAR(64) NULL,
        error_message NVARCHAR(MAX) NULL, created_at DATETIME2(7) NOT NULL, last_updated_at DATETIME2(7) NOT NULL
    );
    INSERT INTO @o
    SELECT op_id, op_kind, op_shipment_id, op_status, op_version, error_code, error_message, op_created_at, op_updated_at
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY op_id ORDER BY position DESC) AS nth FROM @c) AS x
    WHERE x.nth = 1;

    UPDATE op
    SET kind = o.kind, shipment_id = o.shipment_id, status = o.status, resource_version = o.resource_version,
        error_code = o.error_code, error_message = o.error_message,
        created_at = o.created_at, last_updated_at = o.last_updated_at
    FROM dbo.operations AS op JOIN @o AS o ON o.id = op.id;
    INSERT INTO dbo.operations (` + operationColumns + `)
    SELECT o.id, o.kind, o.shipment_id, o.status, o.resource_version, o.error_code, o.error_message,
           o.created_at, o.last_updated_at
    FROM @o AS o
    WHERE NOT EXISTS (SELECT 1 FROM dbo.operations AS op WHERE op.id = o.id);

    -- The checkpoint: the last entry applied, if any.
    DECLARE @last BIGINT;
    DECLARE @last_committed_at DATETIME2(7);
    DECLARE @last_op NVARCHAR(64);
    SELECT TOP (1) @last = position, @last_committed_at = committed_at, @last_op = op_id
    FROM @c ORDER BY position DESC;
    UPDATE dbo.projector_state
    SET applied_position = COALESCE(@last, applied_position),
        feed_head = CASE WHEN feed_head > @head THEN feed_head ELSE @head END,
        last_committed_at = COALESCE(@last_committed_at, last_committed_at),
        last_applied_at = CASE WHEN @last IS NULL THEN last_applied_at ELSE @applied_at END,
        checkpoint_operation_id = COALESCE(@last_op, checkpoint_operation_id)
    WHERE id = 1;
END TRY
BEGIN CATCH
    THROW;
END CATCH;`

// Checkpoint returns how far the projection has applied its feed.
func (p *Projection) Checkpoint(ctx context.Context) (store.Checkpoint, error) {
	var cp store.Checkpoint
	var op, identity sql.NullString
	if err := p.db.QueryRowContext(ctx, `
SELECT applied_position, checkpoint_operation_id, feed_identity FROM dbo.projector_state WHERE id = 1;`).Scan(
		&cp.Position, &op, &identity); err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlserver: read checkpoint: %w", classify(err))
	}
	cp.OperationID, cp.FeedIdentity = op.String, identity.String
	return cp, nil
}

// Follow records the feed the projection follows, once, and returns it.
func (p *Projection) Follow(ctx context.Context, identity string) (string, error) {
	if identity == "" {
		return "", errors.New("sqlserver: follow: the feed has no identity")
	}
	var following string
	if err := p.db.QueryRowContext(ctx, `
UPDATE dbo.projector_state SET feed_identity = @identity WHERE id = 1 AND feed_identity IS NULL;
SELECT feed_identity FROM dbo.projector_state WHERE id = 1;`, sql.Named("identity", str(identity))).Scan(&following); err != nil {
		return "", fmt.Errorf("sqlserver: follow feed %s: %w", identity, classify(err))
	}
	return following, nil
}

// nullTime reads a nullable time column; NULL is the zero time.
func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
