// `rill export --checkpoint_dir=DIR --out=policy.pt`: writes the
// deterministic policy of a learner checkpoint as a TorchScript module that
// Python's torch.jit.load and C++'s torch::jit::load run with no Rill code:
// forward(obs: float32 [B, obs_dim]) -> the action in env units ([B,
// action_dim] float32) or, for discrete actions, the action index ([B]
// int64). DIR is a learner's --checkpoint_dir (its newest checkpoint,
// DIR/latest, is used) or one checkpoint folder. Works for every algorithm:
// the checkpoint's policy.pb says which network it is.
#ifndef RILL_ROLES_EXPORT_MAIN_H_
#define RILL_ROLES_EXPORT_MAIN_H_

namespace rill::roles {

// Returns the exit code: 0; 2 for bad flags or a missing or unreadable
// checkpoint (the message names the path); 1 when writing fails.
int ExportMain();

}  // namespace rill::roles

#endif  // RILL_ROLES_EXPORT_MAIN_H_
