"""Knowledge shared by transforms: official images, secret names, package managers."""
