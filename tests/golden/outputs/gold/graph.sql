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
ent_f0452ed85627d870	Acme	PRODUCT	Acme as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_671af6578c7c91e3	CTO	DOCUMENT	CTO as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_18fc6ddc0f565324	Maria	METRIC	Maria as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_17fb0c001dfff5f3	Lopez	ROLE	Lopez as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_db363350af1d245a	Robotics	EVENT	Robotics as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_6684749c0c32d48b	March	EVENT	March as mentioned in the text.	2	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"},{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_0d256d9034cc46fa	Before	TECHNOLOGY	Before as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_a2c59da0013cfed9	Volta	PERSON	Volta as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_49cc699877041dfb	Systems	PRODUCT	Systems as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_09ff267901995f5d	Munich	EVENT	Munich as mentioned in the text.	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
ent_3b35b6a921bf2761	Artemis	PERSON	Artemis as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_4056245db068d723	The	ORGANIZATION	The as mentioned in the text.	19	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"},{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"},{"doc":"06-outage.md","chunk":0,"section":"Outage report"},{"doc":"08-standard.md","chunk":0,"section":"Transport"},{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"},{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"},{"doc":"14-dataset.md","chunk":0,"section":"Training data"},{"doc":"16-law.md","chunk":0,"section":"Compliance"},{"doc":"17-team.md","chunk":0,"section":"Team changes"},{"doc":"19-paper.md","chunk":0,"section":"Paper"},{"doc":"21-migration.md","chunk":0,"section":"Migration"},{"doc":"22-grant.md","chunk":0,"section":"Grant"},{"doc":"24-repo.md","chunk":0,"section":"Repository"},{"doc":"25-election.md","chunk":0,"section":"Board"},{"doc":"26-incident.md","chunk":0,"section":"Incident"},{"doc":"27-budget.md","chunk":0,"section":"Budget"},{"doc":"30-relates.md","chunk":0,"section":"Notes"},{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_b4e5eb4b9386164b	National	RESOURCE	National as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_8926f7a86adf8318	Aeronautics	DATE	Aeronautics as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_cd3ff725ed917253	Space	DOCUMENT	Space as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_130093becaaffe86	Administration	DATE	Administration as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_deef06030adc9482	NASA	ORGANIZATION	NASA as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_ac8642657404d0a3	Congress	CONCEPT	Congress as mentioned in the text.	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
ent_15dbafd648047cac	Serving	TECHNOLOGY	Serving as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_71a47c20c48ed6d1	GPU	EVENT	GPU as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_3130c343d97c55ff	Frankfurt	ORGANIZATION	Frankfurt as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_806f81a2a052d768	OpenAI	TECHNOLOGY	OpenAI as mentioned in the text.	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
ent_8d323cb74ac5b2e7	API	LOCATION	API as mentioned in the text.	2	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"},{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_fbf2b3b12350e24f	Northwind	RESOURCE	Northwind as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_c38d1569ff225e9e	Kestrel	PERSON	Kestrel as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_b4fca235896e0df0	Holdings	PERSON	Holdings as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_727e8ba67f72ed67	Analytics	DATE	Analytics as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_df380fc0ccfae690	June	CONCEPT	June as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_d28eeefa337b1dab	Dublin	RESOURCE	Dublin as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_de476fbc6ff91548	Falcon	ROLE	Falcon as mentioned in the text.	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
ent_54cf51df409d1ce7	ADR	EVENT	ADR as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_93c860abc5541cd0	Jonas	ROLE	Jonas as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_c419161d4bb08fe8	Berg	TECHNOLOGY	Berg as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_06bc3b0d7a505cfd	Ollama	PERSON	Ollama as mentioned in the text.	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
ent_6a9c5d649b43b02a	Outage	CONCEPT	Outage as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_8157dabc90fa6f7e	February	PERSON	February as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_2879d7aafc42e1cf	Lisbon	DOCUMENT	Lisbon as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_9d5d5a40dd7273a2	Priya	RESOURCE	Priya as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_41860bfaf7577e31	Nair	METRIC	Nair as mentioned in the text.	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
ent_295ac28a8229a0da	Founders	ORGANIZATION	Founders as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_f9ade367d9d8069a	Elena	DATE	Elena as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_6919dc2dd9377504	Petrova	METRIC	Petrova as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_f37c5d4440b3b9ea	Tom	CONCEPT	Tom as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_1da113cd44870e0f	Okafor	LOCATION	Okafor as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_c15664d458c43b54	Lumen	LOCATION	Lumen as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_5f4fb059c3f746da	Labs	RESOURCE	Labs as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_89a1f885b5151702	Toronto	PRODUCT	Toronto as mentioned in the text.	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
ent_4d804818e11525b7	Transport	PRODUCT	Transport as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_01e197a47275a21c	Quill	PERSON	Quill as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_e42609ec7f963eab	HTTP	PRODUCT	HTTP as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_032b044dc8046fd1	TLS	CONCEPT	TLS as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_de72fc1fd95697ff	Sparrow	DOCUMENT	Sparrow as mentioned in the text.	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
ent_f7ed9c3d38b9dbed	Partnership	RESOURCE	Partnership as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_089c6658d283f7b1	Helix	EVENT	Helix as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_c9e76fec077be771	Bio	CONCEPT	Bio as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_5c4772110e09354e	University	DATE	University as mentioned in the text.	3	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"22-grant.md","chunk":0,"section":"Grant"},{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_5dff88ab8444c678	Oslo	PERSON	Oslo as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_e632eee50e4c3c15	Norwegian	RESOURCE	Norwegian as mentioned in the text.	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
ent_d7ca06080fe454b4	Research	ORGANIZATION	Research as mentioned in the text.	2	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_4ab8d9332b7b39a2	Council	LOCATION	Council as mentioned in the text.	2	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_39ea5cc343f027c7	Market	DATE	Market as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_988a1abb139298b5	Qdrant	EVENT	Qdrant as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_a449f9786de90e4d	Milvus	PRODUCT	Milvus as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_3051bb29800e7391	Weaviate	DATE	Weaviate as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_464b79a9d610a4b1	All	METRIC	All as mentioned in the text.	2	[{"doc":"10-competition.md","chunk":0,"section":"Market"},{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_c89e3de6baf8d228	Orbit	PRODUCT	Orbit as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_068563f4f178ee91	Search	PERSON	Search as mentioned in the text.	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
ent_096dea7146be59d3	Standards	EVENT	Standards as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_9f852a43982d2b0a	Rahul	ORGANIZATION	Rahul as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_60cdd0531fb10dbe	Mehta	DATE	Mehta as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_824769b0aa3a6124	W3C	EVENT	W3C as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_385937ba98d7e164	Web	TECHNOLOGY	Web as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_2e3e68ae0f91b6ed	Payments	RESOURCE	Payments as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_7aa814735eb00fed	Working	METRIC	Working as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_0b21441ed6ef6033	Group	ORGANIZATION	Group as mentioned in the text.	2	[{"doc":"11-member.md","chunk":0,"section":"Standards work"},{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_a468abc2a48bcd85	Paylane	LOCATION	Paylane as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_c783bfa3125ef0dc	Bangalore	DATE	Bangalore as mentioned in the text.	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
ent_eeba47c774a14056	Benchmark	LOCATION	Benchmark as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_cf8acf96dd056de5	Kite	DOCUMENT	Kite as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_33fb67bd8b724a72	Llama	PERSON	Llama as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_4498ae5662d7d797	Latency	RESOURCE	Latency as mentioned in the text.	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
ent_ac50693f388908fb	Brightwater	LOCATION	Brightwater as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_3daa95bebc390ec3	Energy	RESOURCE	Energy as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_e3ffacc17367d2fe	GmbH	TECHNOLOGY	GmbH as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_0daaae415675c57b	Hollow	EVENT	Hollow as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_172d921f7cb83219	Creek	ORGANIZATION	Creek as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_a2d24dc6c5776c9a	Scotland	DATE	Scotland as mentioned in the text.	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
ent_aee2005d09c1d971	Training	CONCEPT	Training as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_2c20bb230f6462fb	Pelican	LOCATION	Pelican as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_ddde7c9cdeba1ef6	OpenWeb	DOCUMENT	OpenWeb as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_51e8a7f7f26fb8ce	Common	CONCEPT	Common as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_a7cc6e2b2546eaab	Crawl	ORGANIZATION	Crawl as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_97e9ba8999c22ead	PyTorch	PRODUCT	PyTorch as mentioned in the text.	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
ent_406d8f804e7e3093	KubeCon	ORGANIZATION	KubeCon as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_ca3863b53c1b681e	Aiko	LOCATION	Aiko as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_7e01005a0d076c14	Tanaka	LOCATION	Tanaka as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_09b65ed571084166	Europe	ROLE	Europe as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_61485f02b240a9f9	Paris	ROLE	Paris as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_c9e9b1371e6c4780	Her	METRIC	Her as mentioned in the text.	2	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_31dc63c8176e3ce8	Cloudfern	CONCEPT	Cloudfern as mentioned in the text.	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
ent_49bd20d894d88881	Compliance	ORGANIZATION	Compliance as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_6aa5b0177b3b9553	General	DOCUMENT	General as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_794c57c286d0b644	Data	PRODUCT	Data as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_79a271e5933c3eff	Protection	LOCATION	Protection as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_0908297baadff16f	Regulation	RESOURCE	Regulation as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_fad7926383335985	GDPR	CONCEPT	GDPR as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_3971416158d20f30	Harbor	METRIC	Harbor as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_8baec21353d73a6d	CRM	PERSON	CRM as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_f4554ca1830e899d	Tideway	LOCATION	Tideway as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_7f4671ac149a59ff	Software	DATE	Software as mentioned in the text.	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
ent_774fab9060317503	Team	DATE	Team as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_cea4c0b45ec8a70a	Lars	METRIC	Lars as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_83fd3c185d12e4db	Nilsson	METRIC	Nilsson as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_3b8cc0bc17a569e9	Stockholm	RESOURCE	Stockholm as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_92eadbf626d5ef73	Rail	RESOURCE	Rail as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_c81b9100c70ff911	Atlas	PRODUCT	Atlas as mentioned in the text.	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
ent_b4a83a7812fd2ea1	Release	ROLE	Release as mentioned in the text.	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
ent_d6f0d5eec61f06a0	Postgres	DATE	Postgres as mentioned in the text.	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
ent_b4d0e7ade6f54e08	September	DATE	September as mentioned in the text.	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
ent_4708461feb98a3c4	Paper	ROLE	Paper as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_442e52105cd5c688	Attention	DOCUMENT	Attention as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_29f716dca624d8df	You	METRIC	You as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_81551620184fbd4b	Need	ORGANIZATION	Need as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_cc78544d60c58801	Ashish	DATE	Ashish as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_c695de30989dfed5	Vaswani	ROLE	Vaswani as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_d5f8ba54032b2c55	Google	PERSON	Google as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_b652a5497edd0809	Transformer	TECHNOLOGY	Transformer as mentioned in the text.	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
ent_1844b92740222134	Offices	ORGANIZATION	Offices as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_575dcd4b0a77e128	Fjord	CONCEPT	Fjord as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_b7f074897764da61	Networks	EVENT	Networks as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_2f566a56f4a3d95f	Bergen	METRIC	Bergen as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_1d1dfaf6d07f2ceb	Austin	PERSON	Austin as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_6f1c271fbb884de1	Ingrid	ROLE	Ingrid as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_3e5266825ffe8f42	Dahl	DOCUMENT	Dahl as mentioned in the text.	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
ent_a98b4f5183f48b22	Migration	CONCEPT	Migration as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_32cba1c2bff73967	Oracle	TECHNOLOGY	Oracle as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_1abd32063173b23e	Database	CONCEPT	Database as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_85702a695ed34a5e	CockroachDB	PERSON	CockroachDB as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_c0cba42d86c7eb8c	Sofia	ORGANIZATION	Sofia as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_b26c9f21d4bffeca	Rossi	TECHNOLOGY	Rossi as mentioned in the text.	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
ent_6c1776f4b5c115b8	Grant	METRIC	Grant as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_bd0a61f58fec664f	European	EVENT	European as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_bc2b6d408dc2c0e2	Amara	LOCATION	Amara as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_6bc3a0fc24f8ca3b	Diallo	RESOURCE	Diallo as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_643ab453f96e266c	Sorbonne	PRODUCT	Sorbonne as mentioned in the text.	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
ent_c950d33d069721a5	Devices	ROLE	Devices as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_8a4109edee8f1df6	Apple	ROLE	Apple as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_1946885ef396331a	Inc	PRODUCT	Inc as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_d39804967ee463be	A17	DATE	A17 as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_98caa8cef7e077b6	Pro	ORGANIZATION	Pro as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_ecd0e879164267e0	Cupertino	PERSON	Cupertino as mentioned in the text.	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
ent_b6879845eb006be5	Repository	EVENT	Repository as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_e06ac7e845f85fcf	GitHub	LOCATION	GitHub as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_3418591d455bca64	Tokio	RESOURCE	Tokio as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_be43086224719ad1	Rust	DATE	Rust as mentioned in the text.	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
ent_12921850edf1deb9	Board	LOCATION	Board as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_c749ed1a375b4ca4	May	ROLE	May as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_7fad3e749a54fce9	Marlow	CONCEPT	Marlow as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_c7009eb819b51c3c	Bank	DOCUMENT	Bank as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_7f7e1731c3f6c2e8	Grace	DOCUMENT	Grace as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_7b620627bc992f66	Chen	DOCUMENT	Chen as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_ef391631a2d8771b	Edinburgh	RESOURCE	Edinburgh as mentioned in the text.	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
ent_683b5719886c4a5e	Incident	PERSON	Incident as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_36b0122591373671	Oak	LOCATION	Oak as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_70263b5533f5b054	July	DATE	July as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_1399b0272f11cc32	Redwood	CONCEPT	Redwood as mentioned in the text.	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
ent_c036c4393a95c74a	Budget	CONCEPT	Budget as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_71a0fa644f9a10ab	Finance	TECHNOLOGY	Finance as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_145551db5d4dab1a	Committee	TECHNOLOGY	Committee as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_c0b2273b4a3e09e1	Spruce	CONCEPT	Spruce as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_73a79aafb2de4b57	Mosaic	LOCATION	Mosaic as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_2bf5dda7a33fc0a7	Cloud	LOCATION	Cloud as mentioned in the text.	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
ent_25ae162974e70234	Retrieval	ORGANIZATION	Retrieval as mentioned in the text.	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
ent_388eb4e0e17404f5	GraphRAG	TECHNOLOGY	GraphRAG as mentioned in the text.	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
ent_3fab09c58ba3b92d	LightRAG	LOCATION	LightRAG as mentioned in the text.	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
ent_f20cd90148523123	Hospital	DATE	Hospital as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_7af6e8196188129f	Mary	RESOURCE	Mary as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_58af535bc501c80d	Leeds	ORGANIZATION	Leeds as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_8e021815bbaf2ec4	Cedar	PRODUCT	Cedar as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_04d8eae786fda403	Medica	PRODUCT	Medica as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_7cf0ca9102f579e8	Ltd	EVENT	Ltd as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_223113201aa311a0	Owen	LOCATION	Owen as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_7cb327a27d6a211b	Hughes	DATE	Hughes as mentioned in the text.	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
ent_cf132857248f6ca8	Notes	ROLE	Notes as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_ce1b93c7fe9979f3	Willow	DOCUMENT	Willow as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_c69a05e405c75503	Birch	DOCUMENT	Birch as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_dfb887ad9a5ff72f	Kenji	PERSON	Kenji as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_9f3a4c8577e849a7	Sato	LOCATION	Sato as mentioned in the text.	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
ent_6c0271ed8b47b33d	Carnegie	EVENT	Carnegie as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_3ab06d6e9bfd6e3b	Mellon	RESOURCE	Mellon as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_5177d8dd6eff87f7	CMU	METRIC	CMU as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_45292b483ae7b022	Pittsburgh	EVENT	Pittsburgh as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_4603a2372ea55539	Dana	TECHNOLOGY	Dana as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_e537af1827c77c45	Whitfield	DOCUMENT	Whitfield as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_e61cad1f25553b2f	Boston	ORGANIZATION	Boston as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_7d4fe28e5e3ef99d	Dynamics	CONCEPT	Dynamics as mentioned in the text.	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
ent_089a6873999785e6	OpenAPI	LOCATION	OpenAPI as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_08d0bcf63cef60b9	Specification	TECHNOLOGY	Specification as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_0621203353949d30	REST	PERSON	REST as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_46a0ad0f24c0716e	Linux	CONCEPT	Linux as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_790eb0904b583750	Foundation	RESOURCE	Foundation as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
ent_6e44b591b81ea307	Swagger	DATE	Swagger as mentioned in the text.	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
\.
COPY aegis_stage_relations (id, source, target, type, description, weight, mentions, sources) FROM STDIN;
rel_c4010cfca717eb5b	ent_f0452ed85627d870	ent_671af6578c7c91e3	OCCURRED_ON	Acme and CTO appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_a8756d69aa96ffb7	ent_671af6578c7c91e3	ent_18fc6ddc0f565324	OCCURRED_AT	CTO and Maria appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_620024453270574f	ent_18fc6ddc0f565324	ent_17fb0c001dfff5f3	RELATES_TO	Maria and Lopez appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_b53a2b686f1915c5	ent_17fb0c001dfff5f3	ent_db363350af1d245a	HOLDS_ROLE	Lopez and Robotics appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_07c4b6c905c18591	ent_db363350af1d245a	ent_6684749c0c32d48b	PARTICIPATED_IN	Robotics and March appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_ce0e9ea9264b7a4d	ent_6684749c0c32d48b	ent_0d256d9034cc46fa	DEPENDS_ON	March and Before appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_0543ed9f0098d993	ent_0d256d9034cc46fa	ent_a2c59da0013cfed9	REPLACES	Before and Volta appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_e2698d36ffb0b156	ent_a2c59da0013cfed9	ent_49cc699877041dfb	LOCATED_IN	Volta and Systems appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_b2ef280be2ec12d2	ent_49cc699877041dfb	ent_09ff267901995f5d	ACQUIRED	Systems and Munich appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_1af540fd379e2bde	ent_3b35b6a921bf2761	ent_4056245db068d723	OCCURRED_AT	Artemis and The appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_d7507c7c5734dbb9	ent_4056245db068d723	ent_b4e5eb4b9386164b	PART_OF	The and National appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_b63bb329fc162fcf	ent_b4e5eb4b9386164b	ent_8926f7a86adf8318	REPLACES	National and Aeronautics appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_4d8c84e5b85fec6a	ent_8926f7a86adf8318	ent_cd3ff725ed917253	INSTANCE_OF	Aeronautics and Space appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_f1362fa03c69dc3c	ent_cd3ff725ed917253	ent_130093becaaffe86	LEADS	Space and Administration appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_55e6951b2bd2e148	ent_130093becaaffe86	ent_deef06030adc9482	CAUSED	Administration and NASA appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_c57c0587916681dd	ent_deef06030adc9482	ent_ac8642657404d0a3	WORKS_FOR	NASA and Congress appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_b05cb30e3956583b	ent_15dbafd648047cac	ent_4056245db068d723	DEPENDS_ON	Serving and The appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_c593e6c7647184e4	ent_4056245db068d723	ent_71a47c20c48ed6d1	OWNS	The and GPU appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_9f8341dcbbcdfd20	ent_71a47c20c48ed6d1	ent_3130c343d97c55ff	USES	GPU and Frankfurt appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_58668036611e9dad	ent_3130c343d97c55ff	ent_806f81a2a052d768	REPLACES	Frankfurt and OpenAI appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_265125200a253ba2	ent_806f81a2a052d768	ent_8d323cb74ac5b2e7	OCCURRED_ON	OpenAI and API appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_5299cb4a6fba9c04	ent_fbf2b3b12350e24f	ent_c38d1569ff225e9e	IMPLEMENTS	Northwind and Kestrel appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_75cff24aad7cbd14	ent_c38d1569ff225e9e	ent_b4fca235896e0df0	DEPENDS_ON	Kestrel and Holdings appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_1d466634f4a46400	ent_b4fca235896e0df0	ent_727e8ba67f72ed67	COMPETES_WITH	Holdings and Analytics appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_12e7e04633756f41	ent_727e8ba67f72ed67	ent_df380fc0ccfae690	AUTHORED	Analytics and June appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_68bf6668a64221a3	ent_df380fc0ccfae690	ent_d28eeefa337b1dab	LEADS	June and Dublin appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_f402da1668a024a3	ent_d28eeefa337b1dab	ent_de476fbc6ff91548	COMPETES_WITH	Dublin and Falcon appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_2c5ec5dc8bbf05c0	ent_54cf51df409d1ce7	ent_93c860abc5541cd0	COMPETES_WITH	ADR and Jonas appear together.	0.5	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
rel_29023dcea029fc98	ent_93c860abc5541cd0	ent_c419161d4bb08fe8	DESCRIBES	Jonas and Berg appear together.	0.5	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
rel_d15a791b896b03be	ent_c419161d4bb08fe8	ent_06bc3b0d7a505cfd	LEADS	Berg and Ollama appear together.	0.5	1	[{"doc":"05-adr.md","chunk":0,"section":"ADR-059: bulk extraction on vLLM"}]
rel_2244f8161073c575	ent_6a9c5d649b43b02a	ent_8157dabc90fa6f7e	OCCURRED_ON	Outage and February appear together.	0.5	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
rel_a5174d5cf568b449	ent_8157dabc90fa6f7e	ent_2879d7aafc42e1cf	IMPLEMENTS	February and Lisbon appear together.	0.5	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
rel_f2bb6de3fc451baa	ent_2879d7aafc42e1cf	ent_4056245db068d723	MEASURES	Lisbon and The appear together.	0.5	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
rel_02bfc8ebab6bf07d	ent_4056245db068d723	ent_9d5d5a40dd7273a2	WORKS_FOR	The and Priya appear together.	0.5	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
rel_fe4d3f1957f3f573	ent_9d5d5a40dd7273a2	ent_41860bfaf7577e31	AUTHORED	Priya and Nair appear together.	0.5	1	[{"doc":"06-outage.md","chunk":0,"section":"Outage report"}]
rel_40e36b891916c2f0	ent_295ac28a8229a0da	ent_f9ade367d9d8069a	INSTANCE_OF	Founders and Elena appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_10b4f76e60a71580	ent_f9ade367d9d8069a	ent_6919dc2dd9377504	MEASURES	Elena and Petrova appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_73641f0a709f4761	ent_6919dc2dd9377504	ent_f37c5d4440b3b9ea	OCCURRED_AT	Petrova and Tom appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_e6ea411ac2989a42	ent_f37c5d4440b3b9ea	ent_1da113cd44870e0f	USES	Tom and Okafor appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_ad25a65c43aafca7	ent_1da113cd44870e0f	ent_c15664d458c43b54	IMPLEMENTS	Okafor and Lumen appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_d6f93a65e68acdb3	ent_c15664d458c43b54	ent_5f4fb059c3f746da	LOCATED_IN	Lumen and Labs appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_d525a91fa752e0d3	ent_5f4fb059c3f746da	ent_89a1f885b5151702	RELATES_TO	Labs and Toronto appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_02db71813aae4cfd	ent_4d804818e11525b7	ent_4056245db068d723	LEADS	Transport and The appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_45b7f98b0b1d7683	ent_4056245db068d723	ent_01e197a47275a21c	LOCATED_IN	The and Quill appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_b198be8be6431a43	ent_01e197a47275a21c	ent_e42609ec7f963eab	INSTANCE_OF	Quill and HTTP appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_343a26ce5bcc16ac	ent_e42609ec7f963eab	ent_032b044dc8046fd1	REPLACES	HTTP and TLS appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_5f488f96682825f3	ent_032b044dc8046fd1	ent_de72fc1fd95697ff	DEPENDS_ON	TLS and Sparrow appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_44cd78b7eb6d9d4c	ent_f7ed9c3d38b9dbed	ent_089c6658d283f7b1	OWNS	Partnership and Helix appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_ac1522c706df9827	ent_089c6658d283f7b1	ent_c9e76fec077be771	MEASURES	Helix and Bio appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_eeb1679f1e39c875	ent_c9e76fec077be771	ent_5c4772110e09354e	HOLDS_ROLE	Bio and University appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_9ac724983460f7f9	ent_5c4772110e09354e	ent_5dff88ab8444c678	WORKS_FOR	University and Oslo appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_18e38006c693d24d	ent_5dff88ab8444c678	ent_4056245db068d723	PARTICIPATED_IN	Oslo and The appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_f653c5d7e9490af1	ent_4056245db068d723	ent_e632eee50e4c3c15	REPLACES	The and Norwegian appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_f83c1b4d881fe06c	ent_e632eee50e4c3c15	ent_d7ca06080fe454b4	HOLDS_ROLE	Norwegian and Research appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_8007fd699dfd99aa	ent_d7ca06080fe454b4	ent_4ab8d9332b7b39a2	LOCATED_IN	Research and Council appear together.	1.0	2	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_d07870420ff1b8e7	ent_39ea5cc343f027c7	ent_988a1abb139298b5	AUTHORED	Market and Qdrant appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_698fc5fa6f201287	ent_988a1abb139298b5	ent_a449f9786de90e4d	USES	Qdrant and Milvus appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_2537e41b126051ae	ent_a449f9786de90e4d	ent_3051bb29800e7391	PARTICIPATED_IN	Milvus and Weaviate appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_e420577227147f8c	ent_3051bb29800e7391	ent_464b79a9d610a4b1	PARTNERS_WITH	Weaviate and All appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_442fe2e724185ed3	ent_464b79a9d610a4b1	ent_c89e3de6baf8d228	FUNDS	All and Orbit appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_94328e8ac4dbb2a4	ent_c89e3de6baf8d228	ent_068563f4f178ee91	COMPETES_WITH	Orbit and Search appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_1aca21039c0c8aee	ent_096dea7146be59d3	ent_9f852a43982d2b0a	FOUNDED	Standards and Rahul appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_39e667c9c1421c8c	ent_9f852a43982d2b0a	ent_60cdd0531fb10dbe	ACQUIRED	Rahul and Mehta appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_ab8c6d16d051c543	ent_60cdd0531fb10dbe	ent_824769b0aa3a6124	DESCRIBES	Mehta and W3C appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_18d5f82dfac14d1c	ent_824769b0aa3a6124	ent_385937ba98d7e164	OCCURRED_AT	W3C and Web appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_68aba5bc9e92640a	ent_385937ba98d7e164	ent_2e3e68ae0f91b6ed	DEPENDS_ON	Web and Payments appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_37aa3d25cc2ae08c	ent_2e3e68ae0f91b6ed	ent_7aa814735eb00fed	CAUSED	Payments and Working appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_8f9a043d87ca09c9	ent_7aa814735eb00fed	ent_0b21441ed6ef6033	DEPENDS_ON	Working and Group appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_5c34691cc01ec2b6	ent_0b21441ed6ef6033	ent_a468abc2a48bcd85	PARTICIPATED_IN	Group and Paylane appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_a741a2a4abc0249b	ent_a468abc2a48bcd85	ent_c783bfa3125ef0dc	HOLDS_ROLE	Paylane and Bangalore appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_f0a86492aad13e24	ent_eeba47c774a14056	ent_4056245db068d723	DESCRIBES	Benchmark and The appear together.	0.5	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
rel_3be07e4a79db419e	ent_4056245db068d723	ent_cf8acf96dd056de5	HOLDS_ROLE	The and Kite appear together.	0.5	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
rel_6c7e4371038e80b2	ent_cf8acf96dd056de5	ent_33fb67bd8b724a72	CAUSED	Kite and Llama appear together.	0.5	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
rel_d5c0851ee1398b95	ent_33fb67bd8b724a72	ent_4498ae5662d7d797	OWNS	Llama and Latency appear together.	0.5	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
rel_d05c5bd634f98ff0	ent_0b21441ed6ef6033	ent_ac50693f388908fb	FOUNDED	Group and Brightwater appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_f1618f0e5188ead6	ent_ac50693f388908fb	ent_3daa95bebc390ec3	CAUSED	Brightwater and Energy appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_481298c37b28422f	ent_3daa95bebc390ec3	ent_e3ffacc17367d2fe	WORKS_FOR	Energy and GmbH appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_32d13dd9599785da	ent_e3ffacc17367d2fe	ent_4056245db068d723	MEMBER_OF	GmbH and The appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_fa55ac1d6b4679df	ent_4056245db068d723	ent_0daaae415675c57b	MEASURES	The and Hollow appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_2abcdf6edf7b39f8	ent_0daaae415675c57b	ent_172d921f7cb83219	IMPLEMENTS	Hollow and Creek appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_12884397d44e74f1	ent_172d921f7cb83219	ent_a2d24dc6c5776c9a	AUTHORED	Creek and Scotland appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_17c7e9905953b583	ent_aee2005d09c1d971	ent_4056245db068d723	PARTICIPATED_IN	Training and The appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_bcf0967894bc8872	ent_4056245db068d723	ent_2c20bb230f6462fb	INSTANCE_OF	The and Pelican appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_bf65fd7f8423b6ac	ent_2c20bb230f6462fb	ent_ddde7c9cdeba1ef6	FUNDS	Pelican and OpenWeb appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_012e148e13e87893	ent_ddde7c9cdeba1ef6	ent_51e8a7f7f26fb8ce	HOLDS_ROLE	OpenWeb and Common appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_a774ff59635414d7	ent_51e8a7f7f26fb8ce	ent_a7cc6e2b2546eaab	DESCRIBES	Common and Crawl appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_affaedc3d4652531	ent_a7cc6e2b2546eaab	ent_97e9ba8999c22ead	REPLACES	Crawl and PyTorch appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_344fb8b63ecc2ccc	ent_406d8f804e7e3093	ent_ca3863b53c1b681e	OCCURRED_ON	KubeCon and Aiko appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_ec2aa1ff157bd9e3	ent_ca3863b53c1b681e	ent_7e01005a0d076c14	PRODUCES	Aiko and Tanaka appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_3cb61e41ae50460c	ent_7e01005a0d076c14	ent_09b65ed571084166	DESCRIBES	Tanaka and Europe appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_75dec8d9c9494c7e	ent_09b65ed571084166	ent_61485f02b240a9f9	HOLDS_ROLE	Europe and Paris appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_9128ec8904885d10	ent_61485f02b240a9f9	ent_6684749c0c32d48b	PARTNERS_WITH	Paris and March appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_56efbc8fa3f29969	ent_6684749c0c32d48b	ent_c9e9b1371e6c4780	RELATES_TO	March and Her appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_0aceb5d5437a9633	ent_c9e9b1371e6c4780	ent_31dc63c8176e3ce8	MEMBER_OF	Her and Cloudfern appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_783715d755b771fe	ent_49bd20d894d88881	ent_4056245db068d723	WORKS_FOR	Compliance and The appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_b9f2a99f57d85508	ent_4056245db068d723	ent_6aa5b0177b3b9553	MEASURES	The and General appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_c6138035e270fb73	ent_6aa5b0177b3b9553	ent_794c57c286d0b644	COMPETES_WITH	General and Data appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_1751c72f3a371477	ent_794c57c286d0b644	ent_79a271e5933c3eff	RELATES_TO	Data and Protection appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_01f962c08a2833e4	ent_79a271e5933c3eff	ent_0908297baadff16f	REPLACES	Protection and Regulation appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_5c97a99b189e87fc	ent_0908297baadff16f	ent_fad7926383335985	MEMBER_OF	Regulation and GDPR appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_1e28611405e7a8ae	ent_fad7926383335985	ent_3971416158d20f30	USES	GDPR and Harbor appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_34a084dd502304c5	ent_3971416158d20f30	ent_8baec21353d73a6d	MEMBER_OF	Harbor and CRM appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_4829140e4f5b5140	ent_8baec21353d73a6d	ent_f4554ca1830e899d	PARTNERS_WITH	CRM and Tideway appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_d517259a26f9a24c	ent_f4554ca1830e899d	ent_7f4671ac149a59ff	WORKS_FOR	Tideway and Software appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_023c0f0907101033	ent_774fab9060317503	ent_cea4c0b45ec8a70a	PART_OF	Team and Lars appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_97b2d8a308f7aac0	ent_cea4c0b45ec8a70a	ent_83fd3c185d12e4db	COMPETES_WITH	Lars and Nilsson appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_9e81ad695447f80c	ent_83fd3c185d12e4db	ent_3b8cc0bc17a569e9	MEMBER_OF	Nilsson and Stockholm appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_ffe8e4396ccd5a8c	ent_3b8cc0bc17a569e9	ent_92eadbf626d5ef73	PRODUCES	Stockholm and Rail appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_1b99e6334338cc14	ent_92eadbf626d5ef73	ent_4056245db068d723	DEPENDS_ON	Rail and The appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_5187a82b673a3899	ent_4056245db068d723	ent_c81b9100c70ff911	LEADS	The and Atlas appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_3b77669cb3819f51	ent_b4a83a7812fd2ea1	ent_d6f0d5eec61f06a0	OCCURRED_ON	Release and Postgres appear together.	0.5	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
rel_172df9a4a24e90c0	ent_d6f0d5eec61f06a0	ent_b4d0e7ade6f54e08	ACQUIRED	Postgres and September appear together.	0.5	1	[{"doc":"18-release.md","chunk":0,"section":"Release"}]
rel_9c9000d732b930a3	ent_4708461feb98a3c4	ent_4056245db068d723	ACQUIRED	Paper and The appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_08c8d582804a68cf	ent_4056245db068d723	ent_442e52105cd5c688	USES	The and Attention appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_b2b2db381e920a6e	ent_442e52105cd5c688	ent_464b79a9d610a4b1	RELATES_TO	Attention and All appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_995068a81c44a5e2	ent_464b79a9d610a4b1	ent_29f716dca624d8df	AUTHORED	All and You appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_154b7ed93b0e09ca	ent_29f716dca624d8df	ent_81551620184fbd4b	PARTICIPATED_IN	You and Need appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_10dde49ca79bdd75	ent_81551620184fbd4b	ent_cc78544d60c58801	LOCATED_IN	Need and Ashish appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_75b188a2a21f8c53	ent_cc78544d60c58801	ent_c695de30989dfed5	CAUSED	Ashish and Vaswani appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_9abda5b29972dc17	ent_c695de30989dfed5	ent_d5f8ba54032b2c55	REPLACES	Vaswani and Google appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_c687d66c697cb11b	ent_d5f8ba54032b2c55	ent_b652a5497edd0809	PARTICIPATED_IN	Google and Transformer appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_a3abc717ebf8b30e	ent_1844b92740222134	ent_575dcd4b0a77e128	DESCRIBES	Offices and Fjord appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_9b07725266984586	ent_575dcd4b0a77e128	ent_b7f074897764da61	LOCATED_IN	Fjord and Networks appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_69e030ad8788bacf	ent_b7f074897764da61	ent_2f566a56f4a3d95f	AUTHORED	Networks and Bergen appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_a1fb7271f83ac566	ent_2f566a56f4a3d95f	ent_1d1dfaf6d07f2ceb	DEPENDS_ON	Bergen and Austin appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_bb0a7dbbbae0ca5a	ent_1d1dfaf6d07f2ceb	ent_6f1c271fbb884de1	HOLDS_ROLE	Austin and Ingrid appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_be6fb5f82a9a1a54	ent_6f1c271fbb884de1	ent_3e5266825ffe8f42	DEPENDS_ON	Ingrid and Dahl appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_47d5ae6f5a40e40e	ent_a98b4f5183f48b22	ent_4056245db068d723	LOCATED_IN	Migration and The appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_6d2d19ea32aa8ab3	ent_4056245db068d723	ent_32cba1c2bff73967	PART_OF	The and Oracle appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_314f4d5a582ee4b4	ent_32cba1c2bff73967	ent_1abd32063173b23e	OCCURRED_ON	Oracle and Database appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_48ceffcecba01600	ent_1abd32063173b23e	ent_85702a695ed34a5e	RELATES_TO	Database and CockroachDB appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_6961b6f0f48f0a83	ent_85702a695ed34a5e	ent_c0cba42d86c7eb8c	PARTICIPATED_IN	CockroachDB and Sofia appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_9b21d6c1cf419644	ent_c0cba42d86c7eb8c	ent_b26c9f21d4bffeca	OCCURRED_ON	Sofia and Rossi appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_3d078c306b41a0c3	ent_6c1776f4b5c115b8	ent_4056245db068d723	IMPLEMENTS	Grant and The appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_307666bdfdced803	ent_4056245db068d723	ent_bd0a61f58fec664f	COMPETES_WITH	The and European appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_316001e36b06d3bc	ent_bd0a61f58fec664f	ent_d7ca06080fe454b4	LEADS	European and Research appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_602ab33b437ab4c8	ent_4ab8d9332b7b39a2	ent_bc2b6d408dc2c0e2	MEASURES	Council and Amara appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_f38ddf8297257d56	ent_bc2b6d408dc2c0e2	ent_6bc3a0fc24f8ca3b	FOUNDED	Amara and Diallo appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_d0bc9e6675aa4157	ent_6bc3a0fc24f8ca3b	ent_c9e9b1371e6c4780	HOLDS_ROLE	Diallo and Her appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_cc8e75eca2708a0f	ent_c9e9b1371e6c4780	ent_643ab453f96e266c	CAUSED	Her and Sorbonne appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_80df665ce67827b8	ent_643ab453f96e266c	ent_5c4772110e09354e	PART_OF	Sorbonne and University appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_72b97101afe079e8	ent_c950d33d069721a5	ent_8a4109edee8f1df6	IMPLEMENTS	Devices and Apple appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_843d79bce455a9a2	ent_8a4109edee8f1df6	ent_1946885ef396331a	PART_OF	Apple and Inc appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_01a4a6ae11402e88	ent_1946885ef396331a	ent_d39804967ee463be	INSTANCE_OF	Inc and A17 appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_661854cb4380f120	ent_d39804967ee463be	ent_98caa8cef7e077b6	COMPETES_WITH	A17 and Pro appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_8109472dc3a44ab5	ent_98caa8cef7e077b6	ent_ecd0e879164267e0	FOUNDED	Pro and Cupertino appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_7b1d5633face5d1c	ent_b6879845eb006be5	ent_4056245db068d723	INSTANCE_OF	Repository and The appear together.	0.5	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
rel_78d2f89817a97797	ent_4056245db068d723	ent_e06ac7e845f85fcf	PARTNERS_WITH	The and GitHub appear together.	0.5	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
rel_531d197a9b0d5d40	ent_e06ac7e845f85fcf	ent_3418591d455bca64	WORKS_FOR	GitHub and Tokio appear together.	0.5	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
rel_5dddf27bd2b860e5	ent_3418591d455bca64	ent_be43086224719ad1	ACQUIRED	Tokio and Rust appear together.	0.5	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
rel_7c26e08d3bacb61f	ent_12921850edf1deb9	ent_c749ed1a375b4ca4	WORKS_FOR	Board and May appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_36d01a9ea3c326d4	ent_c749ed1a375b4ca4	ent_7fad3e749a54fce9	LEADS	May and Marlow appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_282737710bf1fbd1	ent_7fad3e749a54fce9	ent_c7009eb819b51c3c	WORKS_FOR	Marlow and Bank appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_0ea71228366f51c4	ent_c7009eb819b51c3c	ent_7f7e1731c3f6c2e8	MEMBER_OF	Bank and Grace appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_299bd1401b8bbeb9	ent_7f7e1731c3f6c2e8	ent_7b620627bc992f66	ACQUIRED	Grace and Chen appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_dacff4a6252da1c1	ent_7b620627bc992f66	ent_4056245db068d723	OWNS	Chen and The appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_b71ab0127aad47ca	ent_4056245db068d723	ent_ef391631a2d8771b	FOUNDED	The and Edinburgh appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_27ca73d260e34451	ent_683b5719886c4a5e	ent_36b0122591373671	LOCATED_IN	Incident and Oak appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_9f6d9ca38d5d654a	ent_36b0122591373671	ent_8d323cb74ac5b2e7	MEASURES	Oak and API appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_4a6822f714bc78e8	ent_8d323cb74ac5b2e7	ent_70263b5533f5b054	PRODUCES	API and July appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_f4bc368bbb2577f7	ent_70263b5533f5b054	ent_4056245db068d723	INSTANCE_OF	July and The appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_68d462c66768ead9	ent_4056245db068d723	ent_1399b0272f11cc32	RELATES_TO	The and Redwood appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_6d3a98b180130ec3	ent_c036c4393a95c74a	ent_4056245db068d723	PARTNERS_WITH	Budget and The appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_6623beb5151c3e82	ent_4056245db068d723	ent_71a0fa644f9a10ab	WORKS_FOR	The and Finance appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_699c1323213116cd	ent_71a0fa644f9a10ab	ent_145551db5d4dab1a	COMPETES_WITH	Finance and Committee appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_bc7cee57ed8a36ae	ent_145551db5d4dab1a	ent_c0b2273b4a3e09e1	FUNDS	Committee and Spruce appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_0dace562ae7f7c60	ent_c0b2273b4a3e09e1	ent_73a79aafb2de4b57	USES	Spruce and Mosaic appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_864cc3f7f81a4221	ent_73a79aafb2de4b57	ent_2bf5dda7a33fc0a7	USES	Mosaic and Cloud appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_a59b2586acb57706	ent_25ae162974e70234	ent_388eb4e0e17404f5	LOCATED_IN	Retrieval and GraphRAG appear together.	0.5	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
rel_ff73f07c356bd6a1	ent_388eb4e0e17404f5	ent_3fab09c58ba3b92d	PARTICIPATED_IN	GraphRAG and LightRAG appear together.	0.5	1	[{"doc":"28-concept.md","chunk":0,"section":"Retrieval"}]
rel_5e61450116d7ce8c	ent_f20cd90148523123	ent_7af6e8196188129f	PART_OF	Hospital and Mary appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_660465ccda3dfe16	ent_7af6e8196188129f	ent_58af535bc501c80d	MEASURES	Mary and Leeds appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_60ed87ab004710c2	ent_58af535bc501c80d	ent_8e021815bbaf2ec4	OCCURRED_ON	Leeds and Cedar appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_10a699830ef36152	ent_8e021815bbaf2ec4	ent_04d8eae786fda403	MEASURES	Cedar and Medica appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_13674652ce05b2b9	ent_04d8eae786fda403	ent_7cf0ca9102f579e8	INSTANCE_OF	Medica and Ltd appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_05901d07f1129bf2	ent_7cf0ca9102f579e8	ent_223113201aa311a0	PARTNERS_WITH	Ltd and Owen appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_b8d73dcf11aeb23d	ent_223113201aa311a0	ent_7cb327a27d6a211b	PARTICIPATED_IN	Owen and Hughes appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_1d00790495569a55	ent_cf132857248f6ca8	ent_4056245db068d723	PRODUCES	Notes and The appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_e00b7103a84fea38	ent_4056245db068d723	ent_ce1b93c7fe9979f3	PRODUCES	The and Willow appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_fec370634c3b4e81	ent_ce1b93c7fe9979f3	ent_c69a05e405c75503	AUTHORED	Willow and Birch appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_ab000b5967dbddb3	ent_c69a05e405c75503	ent_dfb887ad9a5ff72f	PART_OF	Birch and Kenji appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_514f6f19236a6ae9	ent_dfb887ad9a5ff72f	ent_9f3a4c8577e849a7	PRODUCES	Kenji and Sato appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_8b53bd794f13b536	ent_6c0271ed8b47b33d	ent_3ab06d6e9bfd6e3b	DESCRIBES	Carnegie and Mellon appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_0885a6138d9640db	ent_3ab06d6e9bfd6e3b	ent_5c4772110e09354e	OWNS	Mellon and University appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_3eb47ce132542574	ent_5c4772110e09354e	ent_5177d8dd6eff87f7	PRODUCES	University and CMU appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_e50294e0232b4c25	ent_5177d8dd6eff87f7	ent_45292b483ae7b022	OCCURRED_ON	CMU and Pittsburgh appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_919682c214afa5d7	ent_45292b483ae7b022	ent_4603a2372ea55539	AUTHORED	Pittsburgh and Dana appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_41469dae2f664813	ent_4603a2372ea55539	ent_e537af1827c77c45	HOLDS_ROLE	Dana and Whitfield appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_cd0a42f6c4460853	ent_e537af1827c77c45	ent_e61cad1f25553b2f	PARTNERS_WITH	Whitfield and Boston appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_41c55aa77491bde2	ent_e61cad1f25553b2f	ent_7d4fe28e5e3ef99d	FOUNDED	Boston and Dynamics appear together.	0.5	1	[{"doc":"31-uni.txt","chunk":0,"section":null}]
rel_13bce41c80c2bdef	ent_4056245db068d723	ent_089a6873999785e6	CAUSED	The and OpenAPI appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_71039aac1094e2ed	ent_089a6873999785e6	ent_08d0bcf63cef60b9	LOCATED_IN	OpenAPI and Specification appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_4b0a015ef3f8c7c3	ent_08d0bcf63cef60b9	ent_0621203353949d30	RELATES_TO	Specification and REST appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_1a7a84c4c7fcc3a1	ent_0621203353949d30	ent_46a0ad0f24c0716e	DESCRIBES	REST and Linux appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_1c6fadc5201b0870	ent_46a0ad0f24c0716e	ent_790eb0904b583750	COMPETES_WITH	Linux and Foundation appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_24bd3905537f6899	ent_790eb0904b583750	ent_6e44b591b81ea307	OWNS	Foundation and Swagger appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
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
