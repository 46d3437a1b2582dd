rockspec_format = "3.0"
package = "shop"
version = "1.4.0-1"
supported_platforms = {"linux", "macosx"}
source = {
  url = "git+https://git.example/shop.git",
  tag = "1.4.0"
}
description = {
  summary = "The shop's API gateway plugins",
  homepage = "https://git.example/shop",
  license = "Apache-2.0"
}
dependencies = {
  "inspect == 3.1.3",
  "penlight == 1.14.0",
  "lua-resty-http == 0.17.1",
  "lua-cjson == 2.1.0.10",
  "lpeg == 1.1.0",
}
build = {
  type = "builtin",
  modules = {
    ["shop"] = "shop/init.lua",
    ["shop.handler"] = "shop/handler.lua",
    ["shop.schema"] = "shop/schema.lua",
  }
}
