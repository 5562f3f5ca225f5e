"""Best-first proof search over the backend-neutral state-handle API (GPT-f style)."""

from provergym.search.bestfirst import BestFirstSearch, SearchConfig, best_first_search
from provergym.search.result import SearchResult, SearchStats, TreeEdge, TreeNode

__all__ = ["BestFirstSearch", "SearchConfig", "SearchResult", "SearchStats", "TreeEdge",
           "TreeNode", "best_first_search"]
