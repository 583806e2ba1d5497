-- Projects for the broker benchmark: :count of them from index :first, each deployed with one
-- version that has an artifact and a preview URL. Prefix "bench-" for the HTTP run, "pgb-" for pgbench.
INSERT INTO projects (id, user_id, host, status, preview_url, epoch)
SELECT :'prefix' || i, 'bench-user-' || i, 'bench-host', 'deployed', 'https://preview.example.com/' || i, 1
FROM generate_series(:first, :first + :count - 1) AS i;
INSERT INTO project_versions (id, project_id, kind, status, artifact_url, artifact_sha256, artifact_size, preview_url,
    deployment_id)
SELECT :'prefix' || 'v-' || i, :'prefix' || i, 'build', 'ready', 'https://artifacts.example.com/' || i || '.zip',
    repeat('ab', 32), 2000000, 'https://preview.example.com/' || i, 'dep-' || i
FROM generate_series(:first, :first + :count - 1) AS i;
UPDATE projects p SET current_version_id = v.id FROM project_versions v
WHERE v.project_id = p.id AND p.id LIKE :'prefix' || '%' AND p.current_version_id IS NULL;
CREATE SEQUENCE IF NOT EXISTS pgbench_rollback_seq;
ANALYZE projects;
ANALYZE project_versions;
