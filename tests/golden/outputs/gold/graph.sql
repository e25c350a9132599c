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
rel_620024453270574f	ent_18fc6ddc0f565324	ent_17fb0c001dfff5f3	RELATES_TO	Maria and Lopez appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_ce0e9ea9264b7a4d	ent_6684749c0c32d48b	ent_0d256d9034cc46fa	DEPENDS_ON	March and Before appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_0543ed9f0098d993	ent_0d256d9034cc46fa	ent_a2c59da0013cfed9	REPLACES	Before and Volta appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_e2698d36ffb0b156	ent_a2c59da0013cfed9	ent_49cc699877041dfb	LOCATED_IN	Volta and Systems appear together.	0.5	1	[{"doc":"01-acme-hires.md","chunk":0,"section":"Acme hires a new CTO"}]
rel_d7507c7c5734dbb9	ent_4056245db068d723	ent_b4e5eb4b9386164b	PART_OF	The and National appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_b63bb329fc162fcf	ent_b4e5eb4b9386164b	ent_8926f7a86adf8318	REPLACES	National and Aeronautics appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_4d8c84e5b85fec6a	ent_8926f7a86adf8318	ent_cd3ff725ed917253	INSTANCE_OF	Aeronautics and Space appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_55e6951b2bd2e148	ent_130093becaaffe86	ent_deef06030adc9482	CAUSED	Administration and NASA appear together.	0.5	1	[{"doc":"02-nasa.md","chunk":0,"section":"Artemis budget"}]
rel_b05cb30e3956583b	ent_15dbafd648047cac	ent_4056245db068d723	DEPENDS_ON	Serving and The appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_c593e6c7647184e4	ent_4056245db068d723	ent_71a47c20c48ed6d1	OWNS	The and GPU appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_9f8341dcbbcdfd20	ent_71a47c20c48ed6d1	ent_3130c343d97c55ff	USES	GPU and Frankfurt appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_58668036611e9dad	ent_3130c343d97c55ff	ent_806f81a2a052d768	REPLACES	Frankfurt and OpenAI appear together.	0.5	1	[{"doc":"03-vllm.md","chunk":0,"section":"Serving with vLLM"}]
rel_75cff24aad7cbd14	ent_c38d1569ff225e9e	ent_b4fca235896e0df0	DEPENDS_ON	Kestrel and Holdings appear together.	0.5	1	[{"doc":"04-acquisition.md","chunk":0,"section":"Northwind buys Kestrel"}]
rel_40e36b891916c2f0	ent_295ac28a8229a0da	ent_f9ade367d9d8069a	INSTANCE_OF	Founders and Elena appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_e6ea411ac2989a42	ent_f37c5d4440b3b9ea	ent_1da113cd44870e0f	USES	Tom and Okafor appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_d6f93a65e68acdb3	ent_c15664d458c43b54	ent_5f4fb059c3f746da	LOCATED_IN	Lumen and Labs appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_d525a91fa752e0d3	ent_5f4fb059c3f746da	ent_89a1f885b5151702	RELATES_TO	Labs and Toronto appear together.	0.5	1	[{"doc":"07-founders.md","chunk":0,"section":"Founders"}]
rel_b198be8be6431a43	ent_01e197a47275a21c	ent_e42609ec7f963eab	INSTANCE_OF	Quill and HTTP appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_343a26ce5bcc16ac	ent_e42609ec7f963eab	ent_032b044dc8046fd1	REPLACES	HTTP and TLS appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_5f488f96682825f3	ent_032b044dc8046fd1	ent_de72fc1fd95697ff	DEPENDS_ON	TLS and Sparrow appear together.	0.5	1	[{"doc":"08-standard.md","chunk":0,"section":"Transport"}]
rel_f653c5d7e9490af1	ent_4056245db068d723	ent_e632eee50e4c3c15	REPLACES	The and Norwegian appear together.	0.5	1	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"}]
rel_8007fd699dfd99aa	ent_d7ca06080fe454b4	ent_4ab8d9332b7b39a2	LOCATED_IN	Research and Council appear together.	1.0	2	[{"doc":"09-partners.md","chunk":0,"section":"Partnership"},{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_698fc5fa6f201287	ent_988a1abb139298b5	ent_a449f9786de90e4d	USES	Qdrant and Milvus appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_94328e8ac4dbb2a4	ent_c89e3de6baf8d228	ent_068563f4f178ee91	COMPETES_WITH	Orbit and Search appear together.	0.5	1	[{"doc":"10-competition.md","chunk":0,"section":"Market"}]
rel_68aba5bc9e92640a	ent_385937ba98d7e164	ent_2e3e68ae0f91b6ed	DEPENDS_ON	Web and Payments appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_37aa3d25cc2ae08c	ent_2e3e68ae0f91b6ed	ent_7aa814735eb00fed	CAUSED	Payments and Working appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_8f9a043d87ca09c9	ent_7aa814735eb00fed	ent_0b21441ed6ef6033	DEPENDS_ON	Working and Group appear together.	0.5	1	[{"doc":"11-member.md","chunk":0,"section":"Standards work"}]
rel_6c7e4371038e80b2	ent_cf8acf96dd056de5	ent_33fb67bd8b724a72	CAUSED	Kite and Llama appear together.	0.5	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
rel_d5c0851ee1398b95	ent_33fb67bd8b724a72	ent_4498ae5662d7d797	OWNS	Llama and Latency appear together.	0.5	1	[{"doc":"12-metrics.md","chunk":0,"section":"Benchmark"}]
rel_f1618f0e5188ead6	ent_ac50693f388908fb	ent_3daa95bebc390ec3	CAUSED	Brightwater and Energy appear together.	0.5	1	[{"doc":"13-subsidiary.md","chunk":0,"section":"Group structure"}]
rel_bcf0967894bc8872	ent_4056245db068d723	ent_2c20bb230f6462fb	INSTANCE_OF	The and Pelican appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_affaedc3d4652531	ent_a7cc6e2b2546eaab	ent_97e9ba8999c22ead	REPLACES	Crawl and PyTorch appear together.	0.5	1	[{"doc":"14-dataset.md","chunk":0,"section":"Training data"}]
rel_56efbc8fa3f29969	ent_6684749c0c32d48b	ent_c9e9b1371e6c4780	RELATES_TO	March and Her appear together.	0.5	1	[{"doc":"15-conference.md","chunk":0,"section":"KubeCon"}]
rel_1751c72f3a371477	ent_794c57c286d0b644	ent_79a271e5933c3eff	RELATES_TO	Data and Protection appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_01f962c08a2833e4	ent_79a271e5933c3eff	ent_0908297baadff16f	REPLACES	Protection and Regulation appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_1e28611405e7a8ae	ent_fad7926383335985	ent_3971416158d20f30	USES	GDPR and Harbor appear together.	0.5	1	[{"doc":"16-law.md","chunk":0,"section":"Compliance"}]
rel_023c0f0907101033	ent_774fab9060317503	ent_cea4c0b45ec8a70a	PART_OF	Team and Lars appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_1b99e6334338cc14	ent_92eadbf626d5ef73	ent_4056245db068d723	DEPENDS_ON	Rail and The appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_5187a82b673a3899	ent_4056245db068d723	ent_c81b9100c70ff911	LEADS	The and Atlas appear together.	0.5	1	[{"doc":"17-team.md","chunk":0,"section":"Team changes"}]
rel_08c8d582804a68cf	ent_4056245db068d723	ent_442e52105cd5c688	USES	The and Attention appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_b2b2db381e920a6e	ent_442e52105cd5c688	ent_464b79a9d610a4b1	RELATES_TO	Attention and All appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_75b188a2a21f8c53	ent_cc78544d60c58801	ent_c695de30989dfed5	CAUSED	Ashish and Vaswani appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_9abda5b29972dc17	ent_c695de30989dfed5	ent_d5f8ba54032b2c55	REPLACES	Vaswani and Google appear together.	0.5	1	[{"doc":"19-paper.md","chunk":0,"section":"Paper"}]
rel_a1fb7271f83ac566	ent_2f566a56f4a3d95f	ent_1d1dfaf6d07f2ceb	DEPENDS_ON	Bergen and Austin appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_bb0a7dbbbae0ca5a	ent_1d1dfaf6d07f2ceb	ent_6f1c271fbb884de1	HOLDS_ROLE	Austin and Ingrid appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_be6fb5f82a9a1a54	ent_6f1c271fbb884de1	ent_3e5266825ffe8f42	DEPENDS_ON	Ingrid and Dahl appear together.	0.5	1	[{"doc":"20-office.md","chunk":0,"section":"Offices"}]
rel_47d5ae6f5a40e40e	ent_a98b4f5183f48b22	ent_4056245db068d723	LOCATED_IN	Migration and The appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_6d2d19ea32aa8ab3	ent_4056245db068d723	ent_32cba1c2bff73967	PART_OF	The and Oracle appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_48ceffcecba01600	ent_1abd32063173b23e	ent_85702a695ed34a5e	RELATES_TO	Database and CockroachDB appear together.	0.5	1	[{"doc":"21-migration.md","chunk":0,"section":"Migration"}]
rel_cc8e75eca2708a0f	ent_c9e9b1371e6c4780	ent_643ab453f96e266c	CAUSED	Her and Sorbonne appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_80df665ce67827b8	ent_643ab453f96e266c	ent_5c4772110e09354e	PART_OF	Sorbonne and University appear together.	0.5	1	[{"doc":"22-grant.md","chunk":0,"section":"Grant"}]
rel_843d79bce455a9a2	ent_8a4109edee8f1df6	ent_1946885ef396331a	PART_OF	Apple and Inc appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_01a4a6ae11402e88	ent_1946885ef396331a	ent_d39804967ee463be	INSTANCE_OF	Inc and A17 appear together.	0.5	1	[{"doc":"23-apple.md","chunk":0,"section":"Devices"}]
rel_7b1d5633face5d1c	ent_b6879845eb006be5	ent_4056245db068d723	INSTANCE_OF	Repository and The appear together.	0.5	1	[{"doc":"24-repo.md","chunk":0,"section":"Repository"}]
rel_b71ab0127aad47ca	ent_4056245db068d723	ent_ef391631a2d8771b	FOUNDED	The and Edinburgh appear together.	0.5	1	[{"doc":"25-election.md","chunk":0,"section":"Board"}]
rel_27ca73d260e34451	ent_683b5719886c4a5e	ent_36b0122591373671	LOCATED_IN	Incident and Oak appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_f4bc368bbb2577f7	ent_70263b5533f5b054	ent_4056245db068d723	INSTANCE_OF	July and The appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_68d462c66768ead9	ent_4056245db068d723	ent_1399b0272f11cc32	RELATES_TO	The and Redwood appear together.	0.5	1	[{"doc":"26-incident.md","chunk":0,"section":"Incident"}]
rel_699c1323213116cd	ent_71a0fa644f9a10ab	ent_145551db5d4dab1a	COMPETES_WITH	Finance and Committee appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_0dace562ae7f7c60	ent_c0b2273b4a3e09e1	ent_73a79aafb2de4b57	USES	Spruce and Mosaic appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_864cc3f7f81a4221	ent_73a79aafb2de4b57	ent_2bf5dda7a33fc0a7	USES	Mosaic and Cloud appear together.	0.5	1	[{"doc":"27-budget.md","chunk":0,"section":"Budget"}]
rel_5e61450116d7ce8c	ent_f20cd90148523123	ent_7af6e8196188129f	PART_OF	Hospital and Mary appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_13674652ce05b2b9	ent_04d8eae786fda403	ent_7cf0ca9102f579e8	INSTANCE_OF	Medica and Ltd appear together.	0.5	1	[{"doc":"29-hospital.md","chunk":0,"section":"Hospital IT"}]
rel_e00b7103a84fea38	ent_4056245db068d723	ent_ce1b93c7fe9979f3	PRODUCES	The and Willow appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_ab000b5967dbddb3	ent_c69a05e405c75503	ent_dfb887ad9a5ff72f	PART_OF	Birch and Kenji appear together.	0.5	1	[{"doc":"30-relates.md","chunk":0,"section":"Notes"}]
rel_13bce41c80c2bdef	ent_4056245db068d723	ent_089a6873999785e6	CAUSED	The and OpenAPI appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
rel_4b0a015ef3f8c7c3	ent_08d0bcf63cef60b9	ent_0621203353949d30	RELATES_TO	Specification and REST appear together.	0.5	1	[{"doc":"32-spec.txt","chunk":0,"section":null}]
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
