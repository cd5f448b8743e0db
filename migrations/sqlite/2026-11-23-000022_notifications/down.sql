DROP TABLE notification_feed;
DROP TABLE notification_opt_outs;
DROP TABLE notification_templates;
DROP TABLE notifications;
