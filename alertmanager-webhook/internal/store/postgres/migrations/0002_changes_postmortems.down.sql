DROP TABLE action_items;
DROP TABLE postmortems;
DROP TABLE changes;
