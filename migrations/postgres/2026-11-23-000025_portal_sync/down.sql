DELETE FROM notification_feed WHERE name = 'portal';
DROP TABLE portal_inbound;
DROP TABLE portal_sync;
