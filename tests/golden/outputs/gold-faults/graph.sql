-- aegis-ingest export of '<repo>/fixtures/gold/corpus' as corpus 'golden': run with
--   psql -X -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f FILE
-- One transaction: the tables are created if missing, the records upserted, and the
-- rows of this corpus that the outputs no longer hold deleted; other corpora untouched.
\set ON_ERROR_STOP on
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('aegis-ingest export ' || 'golden')) \g /dev/null
CREATE TABLE IF NOT EXISTS entities (
    corpus      text   NOT NULL,
    id          text   NOT NULL,
    name        text   NOT NULL,
    type        text   NOT NULL,
    description text   NOT NULL,
    mentions    bigint NOT NULL,
    PRIMARY KEY (corpus, id)
);
CREATE INDEX IF NOT EXISTS entities_type ON entities (corpus, type);
CREATE TABLE IF NOT EXISTS relations (
    corpus      text             NOT NULL,
    id          text             NOT NULL,
    source      text             NOT NULL,
    target      text             NOT NULL,
    type        text             NOT NULL,
    description text             NOT NULL,
    weight      double precision NOT NULL,
    mentions    bigint           NOT NULL,
    PRIMARY KEY (corpus, id),
    FOREIGN KEY (corpus, source) REFERENCES entities (corpus, id) ON DELETE CASCADE,
    FOREIGN KEY (corpus, target) REFERENCES entities (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS relations_source ON relations (corpus, source);
CREATE INDEX IF NOT EXISTS relations_target ON relations (corpus, target);
CREATE TABLE IF NOT EXISTS entity_sources (
    corpus    text    NOT NULL,
    entity_id text    NOT NULL,
    doc       text    NOT NULL,
    chunk     integer NOT NULL,
    section   text,
    PRIMARY KEY (corpus, entity_id, doc, chunk),
    FOREIGN KEY (corpus, entity_id) REFERENCES entities (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS entity_sources_doc ON entity_sources (corpus, doc);
CREATE TABLE IF NOT EXISTS relation_sources (
    corpus      text    NOT NULL,
    relation_id text    NOT NULL,
    doc         text    NOT NULL,
    chunk       integer NOT NULL,
    section     text,
    PRIMARY KEY (corpus, relation_id, doc, chunk),
    FOREIGN KEY (corpus, relation_id) REFERENCES relations (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS relation_sources_doc ON relation_sources (corpus, doc);
CREATE TEMP TABLE aegis_stage_entities (
    id text, name text, type text, description text, mentions bigint, sources jsonb
) ON COMMIT DROP;
CREATE TEMP TABLE aegis_stage_relations (
    id text, source text, target text, type text, description text,
    weight double precision, mentions bigint, sources jsonb
) ON COMMIT DROP;
COPY aegis_stage_entities (id, name, type, description, mentions, sources) FROM STDIN;
ent_345f90ff982af354	Acme	PRODUCT	Acme as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_df19c6931ba4998f	CTO	DOCUMENT	CTO as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_93a865418525fa52	Maria	METRIC	Maria as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_c591f2e3e070eaf0	Lopez	ROLE	Lopez as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_80f80b5b23e4d31a	Robotics	EVENT	Robotics as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_95132d92c047dee0	March	EVENT	March as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_7bd5547a8ed99bbc	Before	TECHNOLOGY	Before as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_53dd58f2345eaafc	Volta	PERSON	Volta as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_c4ff379004373920	Systems	PRODUCT	Systems as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_df32ed9f08632ffd	Munich	EVENT	Munich as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_ca7428b39227b437	Artemis	PERSON	Artemis as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_d702c317b043f6f8	The	ORGANIZATION	The as mentioned in the text.	11	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"},{"doc":"08-standard.md","chunk":0,"section":"Transport"},{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"},{"doc":"14-dataset.md","chunk":0,"section":"Training data"},{"doc":"16-law.md","chunk":0,"section":"Compliance"},{"doc":"17-team.md","chunk":0,"section":"Team changes"},{"doc":"19-paper.md","chunk":0,"section":"Paper"},{"doc":"22-grant.md","chunk":0,"section":"Grant"},{"doc":"25-election.md","chunk":0,"section":"Board"},{"doc":"26-incident.md","chunk":0,"section":"Incident"},{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_03224564ce624250	National	RESOURCE	National as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_9a0e84e93dc77a49	Aeronautics	DATE	Aeronautics as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_c2a62f5f31d48e36	Space	DOCUMENT	Space as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_1d35742ab59b4e56	Administration	DATE	Administration as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_ce6b88ab815a52e0	NASA	ORGANIZATION	NASA as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_089e7c55d4cfafc8	Congress	CONCEPT	Congress as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_98feed5f541eb4e0	Serving	TECHNOLOGY	Serving as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_3435480e63797fc8	GPU	EVENT	GPU as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_0a9d11916abd24d4	OpenAI	TECHNOLOGY	OpenAI as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_4f5b0b18e62b7c4f	Northwind	RESOURCE	Northwind as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_cb6d689cbc7e12a1	Kestrel	PERSON	Kestrel as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_fad15371d9000e31	Holdings	PERSON	Holdings as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_6d317ebd331d54c4	Analytics	DATE	Analytics as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_53f00e6ab729f779	June	CONCEPT	June as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_62637b55397ce7ce	Dublin	RESOURCE	Dublin as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_f2185c9661f9f672	Falcon	ROLE	Falcon as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_2d2093d95e9ac24e	ADR	EVENT	ADR as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_7f22e265590ecb75	Jonas	ROLE	Jonas as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_d068ea9996d26198	Berg	TECHNOLOGY	Berg as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_bda2f5889ee4f982	Ollama	PERSON	Ollama as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_d0285c7738aed5a8	Outage	CONCEPT	Outage as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_ed3ba4a80b28fcfd	Lisbon	DOCUMENT	Lisbon as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_7cf44a4be6c57424	Priya	RESOURCE	Priya as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_54f3ac5e3ba4f191	Founders	ORGANIZATION	Founders as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_0b1cd4706c777e1c	Elena	DATE	Elena as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_da744747afe9f25d	Petrova	METRIC	Petrova as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_d9d2f264779ec780	Tom	CONCEPT	Tom as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_c6421da653c8ff98	Okafor	LOCATION	Okafor as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_78f50056c8ec8f70	Lumen	LOCATION	Lumen as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_08c74987634fa356	Labs	RESOURCE	Labs as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_d14e7d640bd82bc0	Toronto	PRODUCT	Toronto as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_0144de7d05cde95a	Transport	PRODUCT	Transport as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_7b6d8af9d581f0f0	Quill	PERSON	Quill as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_09705cded4beae83	HTTP	PRODUCT	HTTP as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_8e73e1b0cf3a6cab	TLS	CONCEPT	TLS as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_93de09c5718d4ef9	Sparrow	DOCUMENT	Sparrow as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_0caa3b032dba2c99	Partnership	RESOURCE	Partnership as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_498d99ee50504bdf	Bio	CONCEPT	Bio as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_bc917193c9c13668	Oslo	PERSON	Oslo as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_ce9fd49f4ecdccef	Norwegian	RESOURCE	Norwegian as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_20a4a4139516ff3c	Council	LOCATION	Council as mentioned in the text.	2	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_9a96e420d0049a6a	Market	DATE	Market as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_5c17d8ad41098c8a	Qdrant	EVENT	Qdrant as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_c49633f04baf825a	Milvus	PRODUCT	Milvus as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_f90ad809de3f0982	Weaviate	DATE	Weaviate as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_ccf9324673b9392d	All	METRIC	All as mentioned in the text.	2	[{"doc":"10-competition.md","chunk":0,"section":"Market"},{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_c9beb8a98203428a	Orbit	PRODUCT	Orbit as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_127bf8d7b03547fb	Search	PERSON	Search as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_8ef0c1afcadfca64	Standards	EVENT	Standards as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_34bc2e4327d6977e	Rahul	ORGANIZATION	Rahul as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_03e76d63792db0ee	Mehta	DATE	Mehta as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_e938a5d99cbd33c1	W3C	EVENT	W3C as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_1361a81ed09fefd6	Web	TECHNOLOGY	Web as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_590a037e74fc0820	Payments	RESOURCE	Payments as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_432f0c124fd2fd23	Working	METRIC	Working as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_ac5e6de430916a26	Group	ORGANIZATION	Group as mentioned in the text.	2	[{"doc":"11-member.md","chunk":0,"section":"Standards work"},{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_8dbb951b4c5a4b26	Paylane	LOCATION	Paylane as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_a7ca39db57b4188b	Bangalore	DATE	Bangalore as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_bf94b796a5a3d892	Benchmark	LOCATION	Benchmark as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_65fa733a6aed6552	Kite	DOCUMENT	Kite as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_37779cea8a0fb0c6	Latency	RESOURCE	Latency as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_4ba7356581027049	Brightwater	LOCATION	Brightwater as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_7094acc9c9195e8a	Energy	RESOURCE	Energy as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_4bd6ef96e99161a0	GmbH	TECHNOLOGY	GmbH as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_021027889d183fc0	Hollow	EVENT	Hollow as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_1faab9e9978cc4ee	Creek	ORGANIZATION	Creek as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_0214bf9db412d8c0	Scotland	DATE	Scotland as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_a0187f39f0743a19	Training	CONCEPT	Training as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_7d1c931b332209f5	Pelican	LOCATION	Pelican as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_aac492600b4a195f	OpenWeb	DOCUMENT	OpenWeb as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_265222beab268b8f	Common	CONCEPT	Common as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_0557e5d1a7471a80	Crawl	ORGANIZATION	Crawl as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_bd58d5e7c7907e86	PyTorch	PRODUCT	PyTorch as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_47f082741f800f5b	KubeCon	ORGANIZATION	KubeCon as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_3498aa66cd939e27	Tanaka	LOCATION	Tanaka as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_3579454c9807552c	Paris	ROLE	Paris as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_4336c39a897e660e	Her	METRIC	Her as mentioned in the text.	2	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_50cd8605a138feef	Compliance	ORGANIZATION	Compliance as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_b344a55e430117b0	General	DOCUMENT	General as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_f6605c54812b3341	Data	PRODUCT	Data as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_30dc5e297eb6e5c7	Protection	LOCATION	Protection as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_5bb6aabf945371a4	Regulation	RESOURCE	Regulation as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_f099cdd992685026	GDPR	CONCEPT	GDPR as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_e2287b3ab0ac3a1e	Harbor	METRIC	Harbor as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_b25a615fe06c46f7	CRM	PERSON	CRM as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_47f073574a5b25de	Tideway	LOCATION	Tideway as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_46b855174779caac	Software	DATE	Software as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_3ddbeeeb636e5dfa	Team	DATE	Team as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_49c9c5dd9d6c8aa6	Lars	METRIC	Lars as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_11926bc8a802309e	Nilsson	METRIC	Nilsson as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_9bdb80a783e60426	Stockholm	RESOURCE	Stockholm as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_e5624dee6a1bf459	Rail	RESOURCE	Rail as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_19cccc16b345b1c5	Atlas	PRODUCT	Atlas as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_15430357b4b3b617	Release	ROLE	Release as mentioned in the text.	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
ent_cb681120b0fcd0b9	September	DATE	September as mentioned in the text.	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
ent_a2140096fcdeb502	Paper	ROLE	Paper as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_59c3ef75cc2e7703	Attention	DOCUMENT	Attention as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_4659380c112e6027	You	METRIC	You as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_8546b47041b8dae2	Need	ORGANIZATION	Need as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_c15d2fd100e89bd5	Ashish	DATE	Ashish as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_ac454df4464553c7	Vaswani	ROLE	Vaswani as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_91439da74f5b8e0f	Google	PERSON	Google as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_3ef94107cbbe88d3	Transformer	TECHNOLOGY	Transformer as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_989b41fb0213fce5	Offices	ORGANIZATION	Offices as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_8208b6f569838509	Fjord	CONCEPT	Fjord as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_efcb3c096256265a	Networks	EVENT	Networks as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_6bf2f14f4c5a0f4e	Bergen	METRIC	Bergen as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_0d6c08fcb54225cd	Austin	PERSON	Austin as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_a4ea8174de9add3f	Ingrid	ROLE	Ingrid as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_cfda13e5f650a186	Dahl	DOCUMENT	Dahl as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_1d54aeca04cf4702	Migration	CONCEPT	Migration as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_5c7ea03de7296c3f	Oracle	TECHNOLOGY	Oracle as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_475d69d9b15c80ac	CockroachDB	PERSON	CockroachDB as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_59e80237258a4b10	Rossi	TECHNOLOGY	Rossi as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_d4bf321c2a8407ab	Grant	METRIC	Grant as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_a280ba9ce766c54c	European	EVENT	European as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_4eb4f165785f801a	Research	ORGANIZATION	Research as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_91b2c07a7f038571	Amara	LOCATION	Amara as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_b6c3f9d8b19b6d98	Diallo	RESOURCE	Diallo as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_90407e7ca150059b	Sorbonne	PRODUCT	Sorbonne as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_872285e3ff528e52	University	DATE	University as mentioned in the text.	2	[{"doc":"22-grant.md","chunk":0,"section":"Grant"},{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_0c37f5669b9d4e80	Devices	ROLE	Devices as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_eae14e08d6502337	Apple	ROLE	Apple as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_3f93e55ea73d19a6	Inc	PRODUCT	Inc as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_b7e8110a575d607b	A17	DATE	A17 as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_59d4c735bd28cfba	Pro	ORGANIZATION	Pro as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_b473bbfa200b9896	Cupertino	PERSON	Cupertino as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_fc49f54706f0da5c	Repository	EVENT	Repository as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_1cb323670d8f0f13	GitHub	LOCATION	GitHub as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_083380363e97c0cd	Rust	DATE	Rust as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_fbd0b6ce491aafc3	Board	LOCATION	Board as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_43e56a372be04165	May	ROLE	May as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_37495bff21389d4b	Marlow	CONCEPT	Marlow as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_6d7cbff66ac6e4c8	Bank	DOCUMENT	Bank as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_cc2d0f15a371f5a6	Grace	DOCUMENT	Grace as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_4ae1f76bbdcf7d29	Chen	DOCUMENT	Chen as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_501e3ee6f7ea6a5c	Edinburgh	RESOURCE	Edinburgh as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_446849276bd3cb8f	Incident	PERSON	Incident as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_260fe4b5a5e65a62	Oak	LOCATION	Oak as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_a49999cda822e0c8	API	LOCATION	API as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_05a6b591b520ce2e	July	DATE	July as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_be84f3c97d67a6ee	Redwood	CONCEPT	Redwood as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_a841108b5f9bf4a2	Budget	CONCEPT	Budget as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_7d7528ea8c10b472	Finance	TECHNOLOGY	Finance as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_dd956aebe975838c	Spruce	CONCEPT	Spruce as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_7cff936b3af07da6	Cloud	LOCATION	Cloud as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_2c18aedefb1a6736	Retrieval	ORGANIZATION	Retrieval as mentioned in the text.	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
ent_b7a01d6a55277b03	GraphRAG	TECHNOLOGY	GraphRAG as mentioned in the text.	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
ent_e541f879dd284125	LightRAG	LOCATION	LightRAG as mentioned in the text.	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
ent_8e1962bcd19eb1bf	Hospital	DATE	Hospital as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_9d7bb10f226ea209	Mary	RESOURCE	Mary as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_86187866f9b03f3a	Leeds	ORGANIZATION	Leeds as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_1a977270739bdc98	Cedar	PRODUCT	Cedar as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_5310d68bd3994d5e	Medica	PRODUCT	Medica as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_c61b24b127fce69b	Ltd	EVENT	Ltd as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_9ebd037fb688f8a6	Owen	LOCATION	Owen as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_e10b044dcdf96f2b	Hughes	DATE	Hughes as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_865bf6e3cfe88290	Notes	ROLE	Notes as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_19a4a883ba94479d	Willow	DOCUMENT	Willow as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_90de684c81cf242c	Kenji	PERSON	Kenji as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_9bea8ac397c060c3	Carnegie	EVENT	Carnegie as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_ac732706778fd871	Mellon	RESOURCE	Mellon as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_2d4c746739a85e68	CMU	METRIC	CMU as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_9152db8d93990bae	Pittsburgh	EVENT	Pittsburgh as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_b2994286735bbcae	Dana	TECHNOLOGY	Dana as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_111d357a35aece0a	Whitfield	DOCUMENT	Whitfield as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_4a22904158183890	Boston	ORGANIZATION	Boston as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_53786200308155c3	Dynamics	CONCEPT	Dynamics as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_1cd2f126b3409db3	OpenAPI	LOCATION	OpenAPI as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_d4030a4a51b466fa	Specification	TECHNOLOGY	Specification as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_c323cf6532e84137	REST	PERSON	REST as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_a6468a3ec0efcefa	Linux	CONCEPT	Linux as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_d6eca68318f085cd	Foundation	RESOURCE	Foundation as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_bd9d9dcbfe16a06d	Swagger	DATE	Swagger as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
\.
COPY aegis_stage_relations (id, source, target, type, description, weight, mentions, sources) FROM STDIN;
rel_296cd30695ff631b	ent_93a865418525fa52	ent_c591f2e3e070eaf0	RELATES_TO	Maria and Lopez appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_df5134cc4378113b	ent_95132d92c047dee0	ent_7bd5547a8ed99bbc	DEPENDS_ON	March and Before appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_4e5bffbc154d927e	ent_7bd5547a8ed99bbc	ent_53dd58f2345eaafc	REPLACES	Before and Volta appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_a47c730e78c859c9	ent_53dd58f2345eaafc	ent_c4ff379004373920	LOCATED_IN	Volta and Systems appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_fd4704dabb82cd5e	ent_d702c317b043f6f8	ent_03224564ce624250	PART_OF	The and National appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_0d1d1ecaa17dfa74	ent_03224564ce624250	ent_9a0e84e93dc77a49	REPLACES	National and Aeronautics appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_d71be330b482de43	ent_9a0e84e93dc77a49	ent_c2a62f5f31d48e36	INSTANCE_OF	Aeronautics and Space appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_ca6ede4c73bcc515	ent_1d35742ab59b4e56	ent_ce6b88ab815a52e0	CAUSED	Administration and NASA appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_4689602af4186863	ent_cb6d689cbc7e12a1	ent_fad15371d9000e31	DEPENDS_ON	Kestrel and Holdings appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_aaca54e1585685b2	ent_54f3ac5e3ba4f191	ent_0b1cd4706c777e1c	INSTANCE_OF	Founders and Elena appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_0bc9c87642e6cec7	ent_d9d2f264779ec780	ent_c6421da653c8ff98	USES	Tom and Okafor appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_3542f400ad6caef2	ent_78f50056c8ec8f70	ent_08c74987634fa356	LOCATED_IN	Lumen and Labs appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_7aed17d20e50ee26	ent_08c74987634fa356	ent_d14e7d640bd82bc0	RELATES_TO	Labs and Toronto appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_3f9620f1b9a756d5	ent_7b6d8af9d581f0f0	ent_09705cded4beae83	INSTANCE_OF	Quill and HTTP appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_a68cccff8e871f77	ent_09705cded4beae83	ent_8e73e1b0cf3a6cab	REPLACES	HTTP and TLS appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_0e8b75c1815969a1	ent_8e73e1b0cf3a6cab	ent_93de09c5718d4ef9	DEPENDS_ON	TLS and Sparrow appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_6b80355169d7aa4a	ent_5c17d8ad41098c8a	ent_c49633f04baf825a	USES	Qdrant and Milvus appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_d64a4aa636f40c30	ent_c9beb8a98203428a	ent_127bf8d7b03547fb	COMPETES_WITH	Orbit and Search appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_b1ceb7d1ad355b6e	ent_1361a81ed09fefd6	ent_590a037e74fc0820	DEPENDS_ON	Web and Payments appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_3e66cd89caa8d822	ent_590a037e74fc0820	ent_432f0c124fd2fd23	CAUSED	Payments and Working appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_1f24d1588eb89df2	ent_432f0c124fd2fd23	ent_ac5e6de430916a26	DEPENDS_ON	Working and Group appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_28d0cae4b357fd68	ent_4ba7356581027049	ent_7094acc9c9195e8a	CAUSED	Brightwater and Energy appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_11c1b628c239b9ea	ent_d702c317b043f6f8	ent_7d1c931b332209f5	INSTANCE_OF	The and Pelican appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_10aa0e5a122eb303	ent_0557e5d1a7471a80	ent_bd58d5e7c7907e86	REPLACES	Crawl and PyTorch appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_fea98b723b839c9f	ent_f6605c54812b3341	ent_30dc5e297eb6e5c7	RELATES_TO	Data and Protection appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_6038e88617247afc	ent_30dc5e297eb6e5c7	ent_5bb6aabf945371a4	REPLACES	Protection and Regulation appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_da8d8f6f1994a4f7	ent_f099cdd992685026	ent_e2287b3ab0ac3a1e	USES	GDPR and Harbor appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_90bfa9508573fca9	ent_3ddbeeeb636e5dfa	ent_49c9c5dd9d6c8aa6	PART_OF	Team and Lars appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_915b40fa79fab324	ent_e5624dee6a1bf459	ent_d702c317b043f6f8	DEPENDS_ON	Rail and The appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_bd9204448f91c16d	ent_d702c317b043f6f8	ent_19cccc16b345b1c5	LEADS	The and Atlas appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_373c63f92aa430c4	ent_d702c317b043f6f8	ent_59c3ef75cc2e7703	USES	The and Attention appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_994bcaa30b3ff10f	ent_59c3ef75cc2e7703	ent_ccf9324673b9392d	RELATES_TO	Attention and All appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_16228b6ddfd8ad4d	ent_c15d2fd100e89bd5	ent_ac454df4464553c7	CAUSED	Ashish and Vaswani appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_4484d3e8ca5381f6	ent_ac454df4464553c7	ent_91439da74f5b8e0f	REPLACES	Vaswani and Google appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_d5235294dd8fc37a	ent_6bf2f14f4c5a0f4e	ent_0d6c08fcb54225cd	DEPENDS_ON	Bergen and Austin appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_9ab5e23d00090ae0	ent_0d6c08fcb54225cd	ent_a4ea8174de9add3f	HOLDS_ROLE	Austin and Ingrid appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_b9bc6feb50a4791a	ent_a4ea8174de9add3f	ent_cfda13e5f650a186	DEPENDS_ON	Ingrid and Dahl appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_eeea9b550375a67d	ent_4eb4f165785f801a	ent_20a4a4139516ff3c	LOCATED_IN	Research and Council appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_453da035049e93ae	ent_4336c39a897e660e	ent_90407e7ca150059b	CAUSED	Her and Sorbonne appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_a30c8f2d10473db1	ent_90407e7ca150059b	ent_872285e3ff528e52	PART_OF	Sorbonne and University appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_7b169539f2b9ae73	ent_eae14e08d6502337	ent_3f93e55ea73d19a6	PART_OF	Apple and Inc appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_7e0b9578c9f31878	ent_3f93e55ea73d19a6	ent_b7e8110a575d607b	INSTANCE_OF	Inc and A17 appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_92e92f25266e2dbe	ent_d702c317b043f6f8	ent_501e3ee6f7ea6a5c	FOUNDED	The and Edinburgh appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_6869ff5a41063cc5	ent_446849276bd3cb8f	ent_260fe4b5a5e65a62	LOCATED_IN	Incident and Oak appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_df979b8abf35b3dd	ent_05a6b591b520ce2e	ent_d702c317b043f6f8	INSTANCE_OF	July and The appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_3999a9237da048f5	ent_d702c317b043f6f8	ent_be84f3c97d67a6ee	RELATES_TO	The and Redwood appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_8ea45af75605a541	ent_8e1962bcd19eb1bf	ent_9d7bb10f226ea209	PART_OF	Hospital and Mary appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_2bb5b2475243ddb5	ent_5310d68bd3994d5e	ent_c61b24b127fce69b	INSTANCE_OF	Medica and Ltd appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_d345c6907935a600	ent_d702c317b043f6f8	ent_1cd2f126b3409db3	CAUSED	The and OpenAPI appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_d8e43b3effbd1507	ent_d4030a4a51b466fa	ent_c323cf6532e84137	RELATES_TO	Specification and REST appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
\.
CREATE TEMP TABLE aegis_stage_entity_sources ON COMMIT DROP AS
    SELECT DISTINCT ON (e.id, s.doc, s.chunk) e.id AS entity_id, s.doc, s.chunk, s.section
    FROM aegis_stage_entities e, jsonb_to_recordset(e.sources) AS s(doc text, chunk integer, section text)
    ORDER BY e.id, s.doc, s.chunk;
CREATE TEMP TABLE aegis_stage_relation_sources ON COMMIT DROP AS
    SELECT DISTINCT ON (r.id, s.doc, s.chunk) r.id AS relation_id, s.doc, s.chunk, s.section
    FROM aegis_stage_relations r, jsonb_to_recordset(r.sources) AS s(doc text, chunk integer, section text)
    ORDER BY r.id, s.doc, s.chunk;
ANALYZE aegis_stage_entities;
ANALYZE aegis_stage_relations;

INSERT INTO entities (corpus, id, name, type, description, mentions)
    SELECT DISTINCT ON (id) 'golden', id, name, type, description, mentions
    FROM aegis_stage_entities ORDER BY id
ON CONFLICT (corpus, id) DO UPDATE
    SET name = EXCLUDED.name, type = EXCLUDED.type,
        description = EXCLUDED.description, mentions = EXCLUDED.mentions
    WHERE (entities.name, entities.type, entities.description, entities.mentions)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.type, EXCLUDED.description, EXCLUDED.mentions);

INSERT INTO relations (corpus, id, source, target, type, description, weight, mentions)
    SELECT DISTINCT ON (id) 'golden', id, source, target, type, description, weight, mentions
    FROM aegis_stage_relations ORDER BY id
ON CONFLICT (corpus, id) DO UPDATE
    SET source = EXCLUDED.source, target = EXCLUDED.target, type = EXCLUDED.type,
        description = EXCLUDED.description, weight = EXCLUDED.weight, mentions = EXCLUDED.mentions
    WHERE (relations.source, relations.target, relations.type, relations.description,
           relations.weight, relations.mentions)
          IS DISTINCT FROM (EXCLUDED.source, EXCLUDED.target, EXCLUDED.type,
           EXCLUDED.description, EXCLUDED.weight, EXCLUDED.mentions);

DELETE FROM relations t WHERE t.corpus = 'golden'
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_relations s WHERE s.id = t.id);
DELETE FROM entities t WHERE t.corpus = 'golden'
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_entities s WHERE s.id = t.id);

INSERT INTO entity_sources (corpus, entity_id, doc, chunk, section)
    SELECT 'golden', entity_id, doc, chunk, section FROM aegis_stage_entity_sources
ON CONFLICT (corpus, entity_id, doc, chunk) DO UPDATE SET section = EXCLUDED.section
    WHERE entity_sources.section IS DISTINCT FROM EXCLUDED.section;
DELETE FROM entity_sources t WHERE t.corpus = 'golden'
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_entity_sources s
                    WHERE s.entity_id = t.entity_id AND s.doc = t.doc AND s.chunk = t.chunk);

INSERT INTO relation_sources (corpus, relation_id, doc, chunk, section)
    SELECT 'golden', relation_id, doc, chunk, section FROM aegis_stage_relation_sources
ON CONFLICT (corpus, relation_id, doc, chunk) DO UPDATE SET section = EXCLUDED.section
    WHERE relation_sources.section IS DISTINCT FROM EXCLUDED.section;
DELETE FROM relation_sources t WHERE t.corpus = 'golden'
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_relation_sources s
                    WHERE s.relation_id = t.relation_id AND s.doc = t.doc AND s.chunk = t.chunk);
COMMIT;
