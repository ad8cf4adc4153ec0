from csm_analytics.cli import main

raise SystemExit(main())
