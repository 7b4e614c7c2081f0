namespace ModelDsl.IR
{
    /// <summary>The names ops, losses and optimizers have in <c>.model</c> source (used in summaries, comments and messages).</summary>
    public static class OpKindNames
    {
        /// <summary>The op's source name, as its rule in the op catalogue states it.</summary>
        public static string ToSource(this OpKind kind) => Ops.OpCatalog.Of(kind).Name;

        public static string ToSource(this LossKind kind)
        {
            switch (kind)
            {
                case LossKind.Mse: return "mse";
                case LossKind.BceWithLogits: return "bce_with_logits";
                default: return "cross_entropy";
            }
        }

        public static string ToSource(this OptimizerKind kind) => kind.ToString().ToLowerInvariant();
    }
}
