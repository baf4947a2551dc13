// The fixed defaults the rill.v1 protos declare on their fields, as the
// option [(rill.v1.default_value) = "8"] (proto/options.proto): each one
// written once, on its field, and applied here by reflection. Experiment
// config finalization calls FillDeclaredDefaults on each section it owns,
// where it used to write `if (x == 0) set_x(8)`; experiment/defaults_test.cc
// checks the fields' comments against the same options.
//
// Stateless functions; safe from any thread.
#ifndef RILL_COMMON_DECLARED_DEFAULTS_H_
#define RILL_COMMON_DECLARED_DEFAULTS_H_

#include <optional>
#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace rill {

// The default `field` declares, as written in the .proto; nullopt for a
// field without one.
std::optional<std::string> DeclaredDefault(const google::protobuf::FieldDescriptor& field);

// Sets each scalar field of `message` (not of the messages inside it) that
// declares a default and holds none: an `optional` field left unset, or
// another field left 0 (proto3 cannot tell 0 from unset there, and 0 meant
// "the default" before the options did). An `optional` field set to 0
// keeps its 0. A declared default that does not parse as its field's type
// is a broken invariant of the .proto: it aborts.
void FillDeclaredDefaults(google::protobuf::Message& message);

}  // namespace rill

#endif  // RILL_COMMON_DECLARED_DEFAULTS_H_
