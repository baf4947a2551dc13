#include "common/declared_defaults.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "common/logging.h"
#include "proto/options.pb.h"

namespace rill {
namespace {

using google::protobuf::FieldDescriptor;

// Whether `field` of `message` holds no value of its own: unset where the
// field has presence, 0 where it has none.
bool HoldsNoValue(const google::protobuf::Message& message, const FieldDescriptor& field) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  if (field.has_presence()) return !reflection.HasField(message, &field);
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return reflection.GetInt32(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_INT64:
      return reflection.GetInt64(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_UINT32:
      return reflection.GetUInt32(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_UINT64:
      return reflection.GetUInt64(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return reflection.GetDouble(message, &field) == 0;
    case FieldDescriptor::CPPTYPE_FLOAT:
      return reflection.GetFloat(message, &field) == 0;
    default:
      // A bool without presence cannot tell false from unset: its default
      // must be false, so it declares none.
      RILL_LOG(FATAL) << field.full_name() << " declares a default but its 0 cannot be told from unset";
      return false;
  }
}

// Sets `field` to `text`, its declared default.
void SetFromText(google::protobuf::Message& message, const FieldDescriptor& field, const std::string& text) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  bool parsed = false;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t value = 0;
      if ((parsed = absl::SimpleAtoi(text, &value))) reflection.SetInt32(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value = 0;
      if ((parsed = absl::SimpleAtoi(text, &value))) reflection.SetInt64(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t value = 0;
      if ((parsed = absl::SimpleAtoi(text, &value))) reflection.SetUInt32(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value = 0;
      if ((parsed = absl::SimpleAtoi(text, &value))) reflection.SetUInt64(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double value = 0;
      if ((parsed = absl::SimpleAtod(text, &value))) reflection.SetDouble(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float value = 0;
      if ((parsed = absl::SimpleAtof(text, &value))) reflection.SetFloat(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value = false;
      if ((parsed = absl::SimpleAtob(text, &value))) reflection.SetBool(&message, &field, value);
      break;
    }
    default:
      break;
  }
  if (!parsed) RILL_LOG(FATAL) << field.full_name() << " declares default \"" << text << "\", not a value of its type";
}

}  // namespace

std::optional<std::string> DeclaredDefault(const FieldDescriptor& field) {
  if (!field.options().HasExtension(v1::default_value)) return std::nullopt;
  return field.options().GetExtension(v1::default_value);
}

void FillDeclaredDefaults(google::protobuf::Message& message) {
  const google::protobuf::Descriptor& descriptor = *message.GetDescriptor();
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    const std::optional<std::string> value = DeclaredDefault(field);
    if (!value.has_value() || field.is_repeated()) continue;
    if (HoldsNoValue(message, field)) SetFromText(message, field, *value);
  }
}

}  // namespace rill
