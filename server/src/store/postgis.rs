pub struct PostgisStore;
