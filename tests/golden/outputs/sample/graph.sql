-- aegis-ingest export of '<repo>/fixtures/sample' as corpus 'golden': run with
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
ent_7f4ffb778eb7404b	Sample	DOCUMENT	Sample as mentioned in the text.	1	[{"doc":"README.md","chunk":0,"section":"Sample corpus"}]
ent_7531d24a6e0f9391	Markdown	ROLE	Markdown as mentioned in the text.	1	[{"doc":"README.md","chunk":0,"section":"Sample corpus"}]
ent_4f5b0b18e62b7c4f	Northwind	RESOURCE	Northwind as mentioned in the text.	4	[{"doc":"README.md","chunk":0,"section":"Sample corpus"},{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_6d317ebd331d54c4	Analytics	DATE	Analytics as mentioned in the text.	4	[{"doc":"README.md","chunk":0,"section":"Sample corpus"},{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_19cccc16b345b1c5	Atlas	PRODUCT	Atlas as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_3df3ba4d38a256e5	PostgreSQL	LOCATION	PostgreSQL as mentioned in the text.	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
ent_4370598c7ea0b00f	Neo4j	DATE	Neo4j as mentioned in the text.	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
ent_d702c317b043f6f8	The	ORGANIZATION	The as mentioned in the text.	4	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_083380363e97c0cd	Rust	DATE	Rust as mentioned in the text.	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
ent_bda2f5889ee4f982	Ollama	PERSON	Ollama as mentioned in the text.	3	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_ed3ba4a80b28fcfd	Lisbon	DOCUMENT	Lisbon as mentioned in the text.	3	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_e7e7c787c87136b8	Joao	ORGANIZATION	Joao as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_004e81f4ca027d7b	Ferreira	TECHNOLOGY	Ferreira as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_93a865418525fa52	Maria	METRIC	Maria as mentioned in the text.	3	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_c0498753c6348cb8	Costa	RESOURCE	Costa as mentioned in the text.	3	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_0a9d11916abd24d4	OpenAI	TECHNOLOGY	OpenAI as mentioned in the text.	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
ent_a49999cda822e0c8	API	LOCATION	API as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_e2287b3ab0ac3a1e	Harbor	METRIC	Harbor as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_361032f54c3bc954	Logistics	LOCATION	Logistics as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_40a4573b11566ff7	Port	PERSON	Port as mentioned in the text.	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
ent_4f82dbf83d5eff1e	Rotterdam	EVENT	Rotterdam as mentioned in the text.	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_8cde1827333dc0ed	Meeting	METRIC	Meeting as mentioned in the text.	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_43e56a372be04165	May	ROLE	May as mentioned in the text.	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_b629ec2f220725b5	Attendees	TECHNOLOGY	Attendees as mentioned in the text.	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_751e159a960b6fd8	Daniel	PRODUCT	Daniel as mentioned in the text.	2	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_c6421da653c8ff98	Okafor	LOCATION	Okafor as mentioned in the text.	2	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"},{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_be8456ee1d4442f4	Vault	PRODUCT	Vault as mentioned in the text.	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_597fa626f82027e3	Frankfurt	ORGANIZATION	Frankfurt as mentioned in the text.	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_53f00e6ab729f779	June	CONCEPT	June as mentioned in the text.	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
ent_2d2093d95e9ac24e	ADR	EVENT	ADR as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_5ab2560b81a4d678	Bulk	METRIC	Bulk as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_e61b2d481116014b	Context	EVENT	Context as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_b7a01d6a55277b03	GraphRAG	TECHNOLOGY	GraphRAG as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_b5630f3da781994e	RELATES	METRIC	RELATES as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_8f760ed6f260b1b6	Decision	RESOURCE	Decision as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_6583fe1c50986023	Platform	RESOURCE	Platform as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_a351961819ab616f	Security	RESOURCE	Security as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_3497a505f5c4905d	Consequences	EVENT	Consequences as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_9edc74235dd3808a	Throughput	DATE	Throughput as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_f6605c54812b3341	Data	PRODUCT	Data as mentioned in the text.	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
ent_7dbf869256fbab40	Quarterly	TECHNOLOGY	Quarterly as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_b792549ed419a161	Revenue	RESOURCE	Revenue as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_e2561ecb6cf44d41	People	CONCEPT	People as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_7cf44a4be6c57424	Priya	RESOURCE	Priya as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_d9a50ff53c572a0b	Raman	RESOURCE	Raman as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_393c240725c7c734	Chief	METRIC	Chief as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_c202187f7976b5b5	Technology	TECHNOLOGY	Technology as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_34ad2e5aec3ddcba	Officer	ORGANIZATION	Officer as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_7888821aee77dedb	Tomas	PRODUCT	Tomas as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_985bf5fa517861ff	Lind	PERSON	Lind as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_9ac9bd5513670b0a	Advisory	PRODUCT	Advisory as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_fbd0b6ce491aafc3	Board	LOCATION	Board as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
ent_d0bea92835ccefd4	Cobalt	DOCUMENT	Cobalt as mentioned in the text.	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
\.
COPY aegis_stage_relations (id, source, target, type, description, weight, mentions, sources) FROM STDIN;
rel_cc8c667e1aa30a40	ent_7531d24a6e0f9391	ent_4f5b0b18e62b7c4f	USES	Markdown and Northwind appear together.	0.5	1	[{"doc":"README.md","chunk":0,"section":"Sample corpus"}]
rel_8901953e5768ba50	ent_19cccc16b345b1c5	ent_4f5b0b18e62b7c4f	CAUSED	Atlas and Northwind appear together.	0.5	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
rel_f372019053b46c27	ent_bda2f5889ee4f982	ent_ed3ba4a80b28fcfd	PRODUCES	Ollama and Lisbon appear together.	0.5	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
rel_4adfd8ee2106adb3	ent_ed3ba4a80b28fcfd	ent_e7e7c787c87136b8	USES	Lisbon and Joao appear together.	0.5	1	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null}]
rel_ddf5fb87f49cc711	ent_e2287b3ab0ac3a1e	ent_361032f54c3bc954	USES	Harbor and Logistics appear together.	1.0	2	[{"doc":"notes/atlas-architecture.txt","chunk":0,"section":null},{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_b89986f0fbdb8ae6	ent_bda2f5889ee4f982	ent_a49999cda822e0c8	RELATES_TO	Ollama and API appear together.	0.5	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
rel_3a9444263ec9c495	ent_d702c317b043f6f8	ent_ed3ba4a80b28fcfd	RELATES_TO	The and Lisbon appear together.	0.5	1	[{"doc":"notes/meeting-2026-05-14.md","chunk":0,"section":"Meeting notes, 14 May 2026"}]
rel_9bf6e533380f8d19	ent_e61b2d481116014b	ent_4f5b0b18e62b7c4f	PART_OF	Context and Northwind appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_7f2440a35016598d	ent_6d317ebd331d54c4	ent_b7a01d6a55277b03	USES	Analytics and GraphRAG appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_5850bbaab9afd8f7	ent_d702c317b043f6f8	ent_bda2f5889ee4f982	CAUSED	The and Ollama appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_d856877cf3934323	ent_c0498753c6348cb8	ent_6583fe1c50986023	REPLACES	Costa and Platform appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_0d2dcc7a508a7442	ent_6583fe1c50986023	ent_751e159a960b6fd8	CAUSED	Platform and Daniel appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_7435063fbff92188	ent_a351961819ab616f	ent_3497a505f5c4905d	INSTANCE_OF	Security and Consequences appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_52f49205924ddbc0	ent_9edc74235dd3808a	ent_f6605c54812b3341	CAUSED	Throughput and Data appear together.	0.5	1	[{"doc":"reports/adr-059-vllm.md","chunk":0,"section":"ADR-059: Bulk extraction on vLLM"}]
rel_bd9204448f91c16d	ent_d702c317b043f6f8	ent_19cccc16b345b1c5	LEADS	The and Atlas appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_920e9945d0ba8ef1	ent_19cccc16b345b1c5	ent_e2287b3ab0ac3a1e	RELATES_TO	Atlas and Harbor appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_f4119d1feeccd3dc	ent_d9a50ff53c572a0b	ent_393c240725c7c734	CAUSED	Raman and Chief appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_b2a1a2edff05aa0d	ent_393c240725c7c734	ent_c202187f7976b5b5	RELATES_TO	Chief and Technology appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_3b95ca94c7018d68	ent_34ad2e5aec3ddcba	ent_7888821aee77dedb	ACQUIRED	Officer and Tomas appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_8bfb35442862bdaf	ent_7888821aee77dedb	ent_985bf5fa517861ff	USES	Tomas and Lind appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
rel_95a720ad120f44a5	ent_fbd0b6ce491aafc3	ent_d0bea92835ccefd4	REPLACES	Board and Cobalt appear together.	0.5	1	[{"doc":"reports/quarterly-review.md","chunk":0,"section":"Quarterly review, Q3"}]
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
