-- Rate-limit budgets per route class, as data (requests per minute, shared by every instance).
INSERT INTO system_config (key, value, updated_by) VALUES
    ('ratelimit.login_per_account_per_minute', '10', 'migration'),
    ('ratelimit.login_per_source_per_minute', '100', 'migration'),
    ('ratelimit.ai_agent_per_minute', '120', 'migration'),
    ('ratelimit.public_reads_per_source_per_minute', '1200', 'migration');
