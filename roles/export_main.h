// `rill export --checkpoint_dir=DIR --out=policy.pt`: writes the
// deterministic policy of a learner checkpoint as a TorchScript module that
// Python's torch.jit.load and C++'s torch::jit::load run with no Rill code:
// forward(obs: float [B, obs_dim]) -> the action in env units ([B,
// action_dim] float32) or, for discrete actions, the action index ([B]
// int64). DIR is a run folder (its learner's newest checkpoint,
// DIR/checkpoints/learner/latest, is used and named), a learner's
// --checkpoint_dir (DIR/latest) or one checkpoint folder
// (roles/checkpoint_folder.h). Works for every algorithm: the checkpoint's
// policy.pb says which network it is. The module's inputs, float64 and
// single observations included, are described in learner/torch_policy.h.
#ifndef RILL_ROLES_EXPORT_MAIN_H_
#define RILL_ROLES_EXPORT_MAIN_H_

namespace rill::roles {

// Returns the exit code: 0; 2 for bad flags or a missing or unreadable
// checkpoint (the message names the paths looked for); 1 when writing
// fails.
int ExportMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_EXPORT_MAIN_H_
