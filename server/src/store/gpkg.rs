pub struct GpkgStore;
