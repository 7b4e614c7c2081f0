using System.Collections.Generic;
using ModelDsl.Plan;

namespace ModelDsl.Autodiff
{
    internal static class ExprWalker
    {
        public static bool UsesDropout(Expr expr) => Any(expr, e => e is DropoutMaskExpr);

        public static bool Any(Expr root, System.Func<Expr, bool> predicate)
        {
            var stack = new Stack<Expr>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var e = stack.Pop();
                if (predicate(e)) return true;
                switch (e)
                {
                    case UnaryExpr u: stack.Push(u.Operand); break;
                    case BinaryExpr b: stack.Push(b.Left); stack.Push(b.Right); break;
                }
            }
            return false;
        }
    }
}
