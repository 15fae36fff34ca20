PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	description VARCHAR(200) NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO schema_version VALUES(1,'key-value state','2026-12-07 15:57:15.088770');
INSERT INTO schema_version VALUES(2,'order journal','2026-12-07 15:57:15.093572');
INSERT INTO schema_version VALUES(3,'configuration versions','2026-12-07 15:57:15.096837');
INSERT INTO schema_version VALUES(4,'performance metrics buckets','2026-12-07 15:57:15.100572');
INSERT INTO schema_version VALUES(5,'A/B tests: experiments and order outcomes','2026-12-07 15:57:15.108594');
INSERT INTO schema_version VALUES(6,'capability profiles','2026-12-07 15:57:15.112215');
INSERT INTO schema_version VALUES(7,'order journal: history marker','2026-12-07 15:57:15.113914');
INSERT INTO schema_version VALUES(8,'A/B order outcomes: effective spread, price improvement, shortfall','2026-12-07 15:57:15.115444');
CREATE TABLE kv_state (
	namespace VARCHAR(64) NOT NULL, 
	"key" VARCHAR(200) NOT NULL, 
	value TEXT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (namespace, "key")
);
INSERT INTO kv_state VALUES('config','fingerprint_key','"00ff"','2026-05-01 12:00:00.000000');
CREATE TABLE order_journal (
	broker_name VARCHAR(64) NOT NULL, 
	client_order_id VARCHAR(64) NOT NULL, 
	instrument VARCHAR(32) NOT NULL, 
	side VARCHAR(8) NOT NULL, 
	quantity VARCHAR(40) NOT NULL, 
	intent TEXT NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	broker_order_id VARCHAR(64), 
	filled_quantity VARCHAR(40), 
	average_fill_price VARCHAR(40), 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	history_marker VARCHAR(64), 
	PRIMARY KEY (broker_name, client_order_id)
);
INSERT INTO order_journal VALUES('paper','ord-1','EUR/USD','buy','1000','{}','unknown',NULL,NULL,NULL,1,NULL,'2026-05-01 12:00:00.000000','2026-05-01 12:00:00.000000','41');
CREATE TABLE config_versions (
	scope VARCHAR(100) NOT NULL, 
	version INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	source VARCHAR(20) NOT NULL, 
	detail TEXT NOT NULL, 
	rollback_of INTEGER, 
	environment VARCHAR(40) NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	content TEXT NOT NULL, 
	changes TEXT NOT NULL, 
	origins TEXT NOT NULL, 
	PRIMARY KEY (scope, version)
);
CREATE TABLE metrics_buckets (
	broker_name VARCHAR(64) NOT NULL, 
	operation VARCHAR(64) NOT NULL, 
	bucket_start BIGINT NOT NULL, 
	source VARCHAR(40) NOT NULL, 
	bucket_seconds INTEGER NOT NULL, 
	calls BIGINT NOT NULL, 
	histogram TEXT NOT NULL, 
	counters TEXT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (broker_name, operation, bucket_start, source)
);
CREATE TABLE ab_experiments (
	test_id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	config TEXT NOT NULL, 
	state TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (test_id)
);
CREATE TABLE ab_orders (
	test_id VARCHAR(64) NOT NULL, 
	client_order_id VARCHAR(64) NOT NULL, 
	attempt INTEGER NOT NULL, 
	arm VARCHAR(64) NOT NULL, 
	propensity FLOAT NOT NULL, 
	probabilities TEXT NOT NULL, 
	explore BOOLEAN NOT NULL, 
	sticky_key VARCHAR(200), 
	failover_from VARCHAR(64), 
	assigned_at DATETIME NOT NULL, 
	status VARCHAR(20), 
	success BOOLEAN, 
	sent BOOLEAN, 
	error_code VARCHAR(40), 
	latency_ms FLOAT, 
	quote_latency_ms FLOAT, 
	requested_quantity VARCHAR(40), 
	filled_quantity VARCHAR(40), 
	average_fill_price VARCHAR(40), 
	arrival_bid VARCHAR(40), 
	arrival_ask VARCHAR(40), 
	commission VARCHAR(40), 
	slippage_bps FLOAT, 
	spread_cost_bps FLOAT, 
	commission_bps FLOAT, 
	completed_at DATETIME, 
	arrival_mid VARCHAR(40), 
	arrival_source VARCHAR(16), 
	quote_home_rate VARCHAR(40), 
	price_improvement_bps FLOAT, 
	price_improvement VARCHAR(40), 
	execution_cost VARCHAR(40), 
	end_mid VARCHAR(40), 
	opportunity_cost VARCHAR(40), 
	shortfall VARCHAR(40), 
	shortfall_bps FLOAT, 
	PRIMARY KEY (test_id, client_order_id, attempt)
);
CREATE TABLE capability_profiles (
	broker_name VARCHAR(64) NOT NULL, 
	test_type VARCHAR(16) NOT NULL, 
	adapter_class VARCHAR(200) NOT NULL, 
	discovered_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	profile TEXT NOT NULL, 
	PRIMARY KEY (broker_name, test_type)
);
CREATE INDEX ix_order_journal_status ON order_journal (status);
CREATE INDEX ix_metrics_buckets_bucket_start ON metrics_buckets (bucket_start);
CREATE INDEX ix_ab_experiments_status ON ab_experiments (status);
CREATE INDEX ix_ab_orders_assigned_at ON ab_orders (assigned_at);
CREATE INDEX ix_capability_profiles_expires_at ON capability_profiles (expires_at);
COMMIT;
